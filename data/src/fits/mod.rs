//! FITS images: [`load`] reads the first image of a `.fits`, `.fit` or `.fits.gz` file into a
//! tensor `(H, W)` or, for a cube of bands, `(H, W, bands)`, in physical units.
//!
//! ```no_run
//! use astrograd_data::fits;
//! let image = fits::load("ngc1300_r.fits")?; // (H, W), BZERO + BSCALE · stored
//! let read = fits::read("cube.fits.gz", &fits::FitsOptions::default().blank_value(-1.0))?;
//! println!("{:?}, {} blank pixels replaced by −1", read.data.shape(), read.blank_pixels);
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! # The format
//! A FITS file is a sequence of HDUs (header and data units), each a whole number of
//! 2880-byte blocks:
//!
//! ```text
//! HDU 0 (primary)   header: 80-character cards "KEYWORD = value / comment", up to END
//!                   data:   NAXIS1·NAXIS2·…·NAXISn values, big-endian, BITPIX bits each
//! HDU 1, 2, …       extensions: XTENSION = 'IMAGE', 'BINTABLE', 'TABLE', … then the same
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `header.rs` | cards, values, blocks up to `END` |
//! | `hdu.rs` | what a header says: kind, BITPIX, axes, scaling, data size |
//! | `pixels.rs` | stored values → physical values, blanks, bands last |
//!
//! The image read is the first HDU that holds one: the primary HDU if it has data, else the
//! first `IMAGE` extension (a primary HDU with `NAXIS = 0` followed by image extensions is
//! how HST and many surveys write). Tables are passed over. astropy's `getdata(file)` returns
//! the first HDU with data, table or not; for a file whose first data is an image, both read
//! the same array.
//!
//! # Values
//! `physical = BZERO + BSCALE · stored`, in f64 then rounded to f32, for `BITPIX` 8, 16, 32,
//! 64 (integers) and −32, −64 (IEEE floats). Blank pixels — NaN in a float image, the
//! `BLANK` value in an integer one — are replaced by [`FitsOptions::blank_value`] (0 unless
//! chosen) and counted in [`FitsImage::blank_pixels`]: a NaN would turn every loss and
//! gradient it touches into NaN. An image whose every pixel is blank is an error,
//! [`DataError::BlankImage`] (`flow_from_directory` prints a warning and skips it).
//!
//! # Shapes and orientation
//! `NAXIS = 2` gives `(H, W)` with `H = NAXIS2` rows of `W = NAXIS1` values; `NAXIS = 3` gives
//! `(H, W, B)` with `B = NAXIS3` bands, channels last as every image of this crate (the file
//! stores band after band). Axes after the third must be of length 1 (radio cubes often carry
//! `NAXIS4 = 1` for the Stokes parameter); they are dropped. Any other rank is an error.
//!
//! Row 0 of the tensor is the first row of the file, as astropy's `getdata` returns it. In the
//! usual display convention that row (FITS pixel y = 1) is the **bottom** of the picture, so
//! shown as a PNG would be (row 0 at the top) the image appears upside down; matplotlib's
//! `imshow(data, origin="lower")` shows it the astronomer's way up. A network does not care,
//! but mixing FITS files and pictures of the same objects does: flip the rows of one of them.
//!
//! # gzip
//! A file whose first bytes are gzip's signature (`1f 8b`) is decompressed as it is read,
//! whatever its name (`.fits.gz`, as astropy and `gzip` write them). The whole stream is read
//! to its end so that every member's CRC-32 is checked.
//!
//! # Reading a file that may be hostile
//! As the IDX reader ([`crate::idx`]): a file is read as a stream, and every size a header
//! declares is checked against what the file can hold **before** anything is allocated — a
//! raw file its length, a gzip file at most 1032 times its size and 1 GiB
//! ([`crate::idx::MAX_DECOMPRESSED_BYTES`]). Products of axes are computed with overflow
//! checks. Every error names the file:
//!
//! | what is wrong | error |
//! |---|---|
//! | the first card is not `SIMPLE = T` | [`DataError::Corrupt`] |
//! | a header cut short (no `END`), a data unit shorter than its header says | [`DataError::Truncated`] |
//! | axes whose data could not fit in the file, or overflow 64 bits | [`DataError::Truncated`] (raw), [`DataError::TooLarge`] |
//! | a `BITPIX` other than 8, 16, 32, 64, −32, −64; a missing or malformed keyword; no image HDU; a rank other than 2 or 3 | [`DataError::Layout`] |
//! | a damaged gzip stream | [`DataError::CorruptGzip`] |
//! | every pixel blank | [`DataError::BlankImage`] |
//!
//! A missing zero padding after the last data unit is accepted (many files lack it;
//! astropy only warns). Not read: tile-compressed images (fpack's `.fz`, a binary table with
//! `ZIMAGE = T`; the error says so — `funpack` them first), tables, random groups, and the
//! WCS (the sky coordinates of each pixel).
//!
//! # Why not the `fitsrs` crate
//! `fitsrs` 0.4.1 (CDS) was evaluated first. It panics on a card holding a lone quote
//! (`OBJECT  = '`), overflows on axes whose product passes 2⁶⁴ (a panic in debug builds, a
//! wrong size in release), and ends a data unit cut short silently (its pixel iterator stops
//! early); it applies neither `BSCALE`/`BZERO` nor `BLANK` to images, and pulls in `wcs`,
//! `futures`, `serde` and `async-trait`. The primary-HDU image format is small enough to
//! read here, every check in view.
use std::io::Read;
use std::path::Path;

use astrograd_tensor::Tensor;

use crate::error::{DataError, Result};
use crate::idx::{self, Capacity};

pub mod hdu;
pub mod header;
pub mod pixels;
#[cfg(test)]
pub(crate) mod test_files;

pub use hdu::{Hdu, HduKind};
pub use header::{BLOCK_BYTES, CARD_BYTES, MAX_HEADER_BLOCKS};
pub use pixels::{Bitpix, Scaling};

use header::{read_header, HeaderPlace, NextHeader};

/// The file names read as FITS by `flow_from_directory` (lower-cased; unlike Keras's image
/// extensions, the dot is part of the test, so that `outfit` is not a FITS file).
pub const FITS_EXTENSIONS: [&str; 6] = [".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz"];

/// Whether `name` ends with one of [`FITS_EXTENSIONS`], in any case.
pub fn is_fits_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    FITS_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// How [`read`] treats blank pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitsOptions {
    /// The value that replaces blank pixels (NaN, or `BLANK` in an integer image). 0 by
    /// default.
    pub blank_value: f32,
}

impl Default for FitsOptions {
    fn default() -> Self {
        FitsOptions { blank_value: 0.0 }
    }
}

impl FitsOptions {
    /// Sets [`FitsOptions::blank_value`].
    pub fn blank_value(mut self, value: f32) -> Self {
        self.blank_value = value;
        self
    }
}

/// A FITS image as [`read`] returns it.
#[derive(Clone, Debug)]
pub struct FitsImage {
    /// The physical values, `(H, W)` or `(H, W, bands)`.
    pub data: Tensor,
    /// How many pixels were blank and now hold [`FitsOptions::blank_value`].
    pub blank_pixels: usize,
    /// How the file stored the values.
    pub bitpix: Bitpix,
    /// Which HDU held the image: 0 for the primary HDU.
    pub hdu: usize,
}

/// The first image of a FITS file as a tensor `(H, W)` or `(H, W, bands)`, blank pixels set
/// to 0 (see the module doc).
///
/// # Errors
/// As [`read`].
pub fn load(path: impl AsRef<Path>) -> Result<Tensor> {
    Ok(read(path, &FitsOptions::default())?.data)
}

/// The first image of a FITS file (raw or gzip), with its blank pixels counted and replaced
/// as `options` says.
///
/// # Errors
/// [`DataError::Io`] or [`DataError::NotAFile`] when the file cannot be opened; the errors of
/// the table in the module doc, each naming the file.
pub fn read(path: impl AsRef<Path>, options: &FitsOptions) -> Result<FitsImage> {
    let path = path.as_ref();
    let (mut reader, capacity) = idx::open(path)?;
    let io_error = idx::stream_error(path, capacity);
    let mut offset = 0u64; // bytes of the (decompressed) file read so far
    let mut passed = Vec::new(); // the HDUs passed over, in words
    let mut tile_compressed = false;
    for index in 0.. {
        let place = HeaderPlace {
            path,
            hdu: index,
            offset,
            io_error: &io_error,
        };
        let header = match read_header(&mut reader, &place)? {
            NextHeader::Header(header) => header,
            NextHeader::End => break,
            NextHeader::NotAnExtension => {
                passed.push(format!(
                    "bytes at offset {offset} that are not an extension"
                ));
                break;
            }
        };
        offset += header.bytes;
        let hdu = Hdu::from_header(&header, index, path)?;
        let data_bytes = checked_data_bytes(&hdu, path, offset, capacity)?;
        if hdu.holds_image() {
            let shape = image_shape(&hdu, path)?;
            let bytes = idx::read_payload(&mut reader, data_bytes).map_err(&io_error)?;
            if (bytes.len() as u64) < data_bytes {
                return Err(DataError::Truncated {
                    path: path.to_path_buf(),
                    expected: offset + data_bytes,
                    found: offset + bytes.len() as u64,
                    detail: data_unit_words(&hdu, offset, data_bytes),
                });
            }
            if let Capacity::Gzip(_) = capacity {
                check_rest_of_gzip(&mut reader, path, offset + data_bytes, capacity)?;
            }
            return image(&bytes, &hdu, shape, path, options);
        }
        // Another HDU: its data unit and padding are read past, never kept.
        let padded = data_bytes.div_ceil(BLOCK_BYTES as u64) * BLOCK_BYTES as u64;
        let skipped = std::io::copy(&mut (&mut reader).take(padded), &mut std::io::sink())
            .map_err(&io_error)?;
        if skipped < data_bytes {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: offset + data_bytes,
                found: offset + skipped,
                detail: data_unit_words(&hdu, offset, data_bytes),
            });
        }
        offset += skipped;
        passed.push(hdu.describe());
        tile_compressed |= hdu.tile_compressed;
        if skipped < padded {
            break; // the last data unit, without its padding
        }
    }
    Err(DataError::Layout {
        path: path.to_path_buf(),
        item: "its HDUs".to_string(),
        expected: format!(
            "an image HDU (the primary HDU with data, or an IMAGE extension){}",
            if tile_compressed {
                "; tile-compressed images are not read: `funpack` the file first"
            } else {
                ""
            }
        ),
        found: if passed.is_empty() {
            "no HDU".to_string()
        } else {
            passed.join(", ")
        },
    })
}

/// The HDU's data size, checked against what the stream can still hold before anything is
/// allocated: a raw file its length, a gzip stream its inflation limit.
fn checked_data_bytes(hdu: &Hdu, path: &Path, offset: u64, capacity: Capacity) -> Result<u64> {
    let (limit, why) = capacity.payload_limit(0);
    let too_large = |declared: String| DataError::TooLarge {
        path: path.to_path_buf(),
        item: format!("the header of HDU {}", hdu.index),
        declared,
        limit,
        why: why.clone(),
    };
    let declaration = format!(
        "BITPIX {} with NAXISn {:?} (PCOUNT {}, GCOUNT {})",
        hdu.bitpix.value(),
        hdu.axes,
        hdu.pcount,
        hdu.gcount
    );
    let Some(data_bytes) = hdu.data_bytes() else {
        return Err(too_large(format!("{declaration}: more than 2^64 bytes")));
    };
    let end = offset.saturating_add(data_bytes);
    match capacity {
        Capacity::Exact(len) if end > len => Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: end,
            found: len,
            detail: data_unit_words(hdu, offset, data_bytes),
        }),
        Capacity::Gzip(_) if end > limit => Err(too_large(format!(
            "{declaration}: a data unit of {data_bytes} bytes from byte {offset}"
        ))),
        _ => Ok(data_bytes),
    }
}

/// "HDU 0: a header of 2880 bytes, then a data unit of BITPIX −32 with NAXISn [5, 6] = 120
/// bytes".
fn data_unit_words(hdu: &Hdu, offset: u64, data_bytes: u64) -> String {
    format!(
        "HDU {}: headers and data up to byte {offset}, then a data unit of BITPIX {} with \
         NAXISn {:?} = {data_bytes} bytes",
        hdu.index,
        hdu.bitpix.value(),
        hdu.axes
    )
}

/// `[H, W, B]` of an image HDU: 2 axes, or 3 with any further axes of length 1; PCOUNT 0 and
/// GCOUNT 1, so that the data unit is exactly the image.
fn image_shape(hdu: &Hdu, path: &Path) -> Result<[usize; 3]> {
    if (hdu.pcount, hdu.gcount) != (0, 1) {
        return Err(DataError::Layout {
            path: path.to_path_buf(),
            item: format!("keywords PCOUNT and GCOUNT of HDU {}", hdu.index),
            expected: "PCOUNT = 0 and GCOUNT = 1 for an image".to_string(),
            found: format!("PCOUNT = {}, GCOUNT = {}", hdu.pcount, hdu.gcount),
        });
    }
    let axis = |n: usize| usize::try_from(hdu.axes[n]).ok();
    let shape = match hdu.axes.len() {
        2 => axis(1).zip(axis(0)).map(|(h, w)| [h, w, 1]),
        n if n >= 3 && hdu.axes[3..].iter().all(|&a| a == 1) => match (axis(1), axis(0), axis(2)) {
            (Some(h), Some(w), Some(b)) => Some([h, w, b]),
            _ => None,
        },
        _ => None,
    };
    shape.ok_or_else(|| DataError::Layout {
        path: path.to_path_buf(),
        item: format!("the axes of HDU {}", hdu.index),
        expected: "2 axes (an image) or 3 (an image of bands), any further axes of length 1"
            .to_string(),
        found: format!("NAXIS = {}, NAXISn {:?}", hdu.axes.len(), hdu.axes),
    })
}

/// Reads the gzip stream to its end, so that its CRC-32 (and those of further members) are
/// checked; bounded by the stream's inflation limit.
fn check_rest_of_gzip(
    reader: &mut impl Read,
    path: &Path,
    read_so_far: u64,
    capacity: Capacity,
) -> Result<()> {
    let (limit, why) = capacity.payload_limit(0);
    let room = limit.saturating_sub(read_so_far);
    let rest = std::io::copy(&mut reader.take(room + 1), &mut std::io::sink()).map_err(|e| {
        DataError::CorruptGzip {
            path: path.to_path_buf(),
            detail: format!("after the image, at byte {read_so_far}: {e}"),
        }
    })?;
    if rest > room {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            item: "the gzip stream".to_string(),
            declared: format!("more than {limit} bytes"),
            limit,
            why,
        });
    }
    Ok(())
}

/// The image of `hdu` from its data unit's `bytes`.
fn image(
    bytes: &[u8],
    hdu: &Hdu,
    [height, width, bands]: [usize; 3],
    path: &Path,
    options: &FitsOptions,
) -> Result<FitsImage> {
    let decoded = pixels::physical_values(
        bytes,
        hdu.bitpix,
        hdu.scaling,
        [height, width, bands],
        options.blank_value,
    )?;
    if decoded.blanks == decoded.values.len() {
        return Err(DataError::BlankImage {
            path: path.to_path_buf(),
            pixels: decoded.blanks,
        });
    }
    let data = if hdu.axes.len() == 2 {
        Tensor::from_vec(decoded.values, &[height, width])? // (H, W)
    } else {
        Tensor::from_vec(decoded.values, &[height, width, bands])? // (H, W, B)
    };
    Ok(FitsImage {
        data,
        blank_pixels: decoded.blanks,
        bitpix: hdu.bitpix,
        hdu: hdu.index,
    })
}

#[cfg(test)]
mod tests;
