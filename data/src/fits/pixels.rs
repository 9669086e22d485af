//! The data unit of an image: big-endian stored values, turned into physical values, blanks
//! replaced, axes put channels last.
//!
//! # Math
//! ```text
//! physical = BZERO + BSCALE · stored          (BSCALE = 1, BZERO = 0 when absent)
//! ```
//! computed in f64, then rounded to f32. So `BITPIX = 16, BZERO = 32768` holds unsigned 16-bit
//! values, and `BITPIX = 8, BZERO = −128` signed bytes. A pixel is *blank* (undefined) when it
//! is NaN (floating-point images) or when its stored integer equals `BLANK` (integer images;
//! the comparison is made before scaling). Blanks are replaced by a chosen value and counted.
//! Physical values beyond f32's range (`BITPIX = −64` holding 1e300) become ±∞.
//!
//! # Shapes
//! The data unit is NAXIS1 values per row, NAXIS2 rows, NAXIS3 bands: NAXIS1 varies fastest,
//! so read in order it is a row-major `(NAXIS3, NAXIS2, NAXIS1)` = `(bands, H, W)` array.
//! astrograd puts bands last, `(H, W, bands)`, as every image of the crate is channels-last:
//!
//! ```text
//! out[(r·W + c)·B + b] = stored[(b·H + r)·W + c]
//! ```
use crate::error::Result;

/// `BITPIX`: how each stored value is written (all big-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bitpix {
    /// `8`: unsigned byte.
    U8,
    /// `16`: two's-complement 16-bit integer.
    I16,
    /// `32`: two's-complement 32-bit integer.
    I32,
    /// `64`: two's-complement 64-bit integer.
    I64,
    /// `-32`: IEEE 754 single precision.
    F32,
    /// `-64`: IEEE 754 double precision.
    F64,
}

impl Bitpix {
    /// The `BITPIX` values the standard allows.
    pub const ALLOWED: [i64; 6] = [8, 16, 32, 64, -32, -64];

    /// The type `BITPIX = value` names, or `None` for a value the standard does not allow.
    pub fn from_value(value: i64) -> Option<Bitpix> {
        match value {
            8 => Some(Bitpix::U8),
            16 => Some(Bitpix::I16),
            32 => Some(Bitpix::I32),
            64 => Some(Bitpix::I64),
            -32 => Some(Bitpix::F32),
            -64 => Some(Bitpix::F64),
            _ => None,
        }
    }

    /// The keyword's value: 8, 16, 32, 64, −32 or −64.
    pub fn value(self) -> i64 {
        match self {
            Bitpix::U8 => 8,
            Bitpix::I16 => 16,
            Bitpix::I32 => 32,
            Bitpix::I64 => 64,
            Bitpix::F32 => -32,
            Bitpix::F64 => -64,
        }
    }

    /// Bytes per stored value: |BITPIX| / 8.
    pub fn bytes(self) -> usize {
        (self.value().unsigned_abs() / 8) as usize
    }

    /// Whether the values are floating point (blanks are NaN) rather than integers (blanks
    /// are `BLANK`).
    pub fn is_float(self) -> bool {
        matches!(self, Bitpix::F32 | Bitpix::F64)
    }
}

/// `BSCALE`, `BZERO` and `BLANK` of an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaling {
    /// `BSCALE` (1 when absent).
    pub bscale: f64,
    /// `BZERO` (0 when absent).
    pub bzero: f64,
    /// `BLANK`: the stored integer of blank pixels (integer images only).
    pub blank: Option<i64>,
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling {
            bscale: 1.0,
            bzero: 0.0,
            blank: None,
        }
    }
}

/// An image's physical values, `(H, W, B)` row-major, and how many of them were blank.
#[derive(Clone, Debug, PartialEq)]
pub struct PhysicalValues {
    /// The `H·W·B` values, channels last.
    pub values: Vec<f32>,
    /// How many pixels were blank (and now hold the replacement value).
    pub blanks: usize,
}

/// Decodes a whole data unit (`bytes.len() = H·W·B·|BITPIX|/8`) into physical values,
/// channels last (see the module doc), blanks replaced by `blank_value`.
///
/// # Errors
/// [`crate::DataError::Invalid`] when `bytes` does not hold exactly `H·W·B` values.
pub fn physical_values(
    bytes: &[u8],
    bitpix: Bitpix,
    scaling: Scaling,
    [height, width, bands]: [usize; 3],
    blank_value: f32,
) -> Result<PhysicalValues> {
    let count = height * width * bands;
    if bytes.len() != count * bitpix.bytes() {
        return Err(crate::DataError::Invalid {
            op: "fits::physical_values",
            expected: format!(
                "{height}·{width}·{bands} values of {} bytes = {} bytes",
                bitpix.bytes(),
                count * bitpix.bytes()
            ),
            found: format!("{} bytes", bytes.len()),
        });
    }
    let mut values = vec![0.0f32; count]; // (H, W, B)
    let mut blanks = 0;
    let plane = height * width;
    for (k, stored) in bytes.chunks_exact(bitpix.bytes()).enumerate() {
        // k walks the file's order (B, H, W); pixel = r·W + c.
        let (band, pixel) = (k / plane, k % plane);
        let physical = match physical_value(stored, bitpix, scaling) {
            Some(value) => value,
            None => {
                blanks += 1;
                blank_value
            }
        };
        values[pixel * bands + band] = physical;
    }
    Ok(PhysicalValues { values, blanks })
}

/// One stored value's physical value, `None` when it is blank.
fn physical_value(stored: &[u8], bitpix: Bitpix, scaling: Scaling) -> Option<f32> {
    let integer = |value: i64| (scaling.blank != Some(value)).then_some(value as f64);
    let number = match bitpix {
        Bitpix::U8 => integer(i64::from(stored[0])),
        Bitpix::I16 => integer(i64::from(i16::from_be_bytes(word(stored)))),
        Bitpix::I32 => integer(i64::from(i32::from_be_bytes(word(stored)))),
        Bitpix::I64 => integer(i64::from_be_bytes(word(stored))),
        Bitpix::F32 => Some(f64::from(f32::from_be_bytes(word(stored)))),
        Bitpix::F64 => Some(f64::from_be_bytes(word(stored))),
    }?;
    if number.is_nan() {
        return None;
    }
    Some((scaling.bzero + scaling.bscale * number) as f32)
}

/// The first `N` bytes of `stored` as an array (`stored` holds exactly one value).
fn word<const N: usize>(stored: &[u8]) -> [u8; N] {
    let mut word = [0u8; N];
    word.copy_from_slice(&stored[..N]);
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One stored value and the physical value it must give.
    struct ValueCase {
        bitpix: Bitpix,
        stored: Vec<u8>,
        scaling: Scaling,
        physical: Option<f32>,
    }

    #[test]
    fn stored_values_become_physical_values() {
        let scaled = |bscale, bzero| Scaling {
            bscale,
            bzero,
            blank: None,
        };
        let cases = [
            ValueCase {
                bitpix: Bitpix::U8,
                stored: vec![200],
                scaling: scaled(0.5, 10.0),
                physical: Some(110.0),
            },
            ValueCase {
                bitpix: Bitpix::U8,
                stored: vec![0],
                scaling: scaled(1.0, -128.0),
                physical: Some(-128.0),
            },
            ValueCase {
                bitpix: Bitpix::I16,
                stored: (-32768i16).to_be_bytes().to_vec(),
                scaling: scaled(1.0, 32768.0),
                physical: Some(0.0),
            },
            ValueCase {
                bitpix: Bitpix::I16,
                stored: 7i16.to_be_bytes().to_vec(),
                scaling: Scaling {
                    blank: Some(7),
                    ..Scaling::default()
                },
                physical: None,
            },
            ValueCase {
                bitpix: Bitpix::I32,
                stored: (-5i32).to_be_bytes().to_vec(),
                scaling: scaled(2.0, 1.0),
                physical: Some(-9.0),
            },
            ValueCase {
                bitpix: Bitpix::I64,
                stored: (1i64 << 40).to_be_bytes().to_vec(),
                scaling: Scaling::default(),
                physical: Some((1u64 << 40) as f32),
            },
            ValueCase {
                bitpix: Bitpix::F32,
                stored: 1.5f32.to_be_bytes().to_vec(),
                scaling: scaled(2.0, 0.25),
                physical: Some(3.25),
            },
            ValueCase {
                bitpix: Bitpix::F32,
                stored: f32::NAN.to_be_bytes().to_vec(),
                scaling: Scaling::default(),
                physical: None,
            },
            ValueCase {
                bitpix: Bitpix::F64,
                stored: 1e300f64.to_be_bytes().to_vec(),
                scaling: Scaling::default(),
                physical: Some(f32::INFINITY),
            },
            // BLANK does not apply to floating-point images.
            ValueCase {
                bitpix: Bitpix::F64,
                stored: 7.0f64.to_be_bytes().to_vec(),
                scaling: Scaling {
                    blank: Some(7),
                    ..Scaling::default()
                },
                physical: Some(7.0),
            },
        ];
        for case in cases {
            assert_eq!(
                physical_value(&case.stored, case.bitpix, case.scaling),
                case.physical,
                "{:?} {:?}",
                case.bitpix,
                case.stored
            );
        }
    }

    #[test]
    fn bands_go_last_and_blanks_are_counted() {
        // (B 2, H 2, W 3) in file order: band b, row r, column c holds 100·b + 10·r + c.
        let mut stored = Vec::new();
        for b in 0..2 {
            for r in 0..2 {
                for c in 0..3 {
                    let v = if (b, r, c) == (1, 0, 2) {
                        f32::NAN
                    } else {
                        (100 * b + 10 * r + c) as f32
                    };
                    stored.extend(v.to_be_bytes());
                }
            }
        }
        let out = physical_values(&stored, Bitpix::F32, Scaling::default(), [2, 3, 2], -1.0)
            .expect("decodes");
        assert_eq!(out.blanks, 1);
        // (H, W, B): pixel (r, c) holds its two bands side by side.
        assert_eq!(
            out.values,
            [0., 100., 1., 101., 2., -1., 10., 110., 11., 111., 12., 112.]
        );
        assert!(physical_values(
            &stored[1..],
            Bitpix::F32,
            Scaling::default(),
            [2, 3, 2],
            0.0
        )
        .is_err());
    }

    #[test]
    fn bitpix_values() {
        for value in Bitpix::ALLOWED {
            let bitpix = Bitpix::from_value(value).expect("allowed");
            assert_eq!(bitpix.value(), value);
            assert_eq!(bitpix.bytes() as i64, value.abs() / 8);
        }
        for value in [0, 1, 12, 24, -8, -16, 128] {
            assert_eq!(Bitpix::from_value(value), None);
        }
    }
}
