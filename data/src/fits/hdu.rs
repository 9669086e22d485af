//! What one header says about its data unit: the kind of HDU, `BITPIX`, the axes, the
//! scaling, and how many bytes the data unit takes.
//!
//! # The size of a data unit
//! ```text
//! bytes = |BITPIX|/8 · GCOUNT · (PCOUNT + NAXIS1 · NAXIS2 · … · NAXISn)      (0 when NAXIS = 0)
//! ```
//! then padded with zeros to whole 2880-byte blocks. An image has PCOUNT = 0 and GCOUNT = 1;
//! a binary table keeps its heap in PCOUNT bytes. (Random groups, an old radio-astronomy
//! layout marked `GROUPS = T` with NAXIS1 = 0, leave NAXIS1 out of the product.) The product
//! is computed with overflow checks: a header may declare axes of 2⁶³ values.
use std::path::Path;

use crate::error::{DataError, Result};

use super::header::Header;
use super::pixels::{Bitpix, Scaling};

/// What kind of HDU a header opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HduKind {
    /// The first HDU of the file (`SIMPLE = T`).
    Primary,
    /// An `XTENSION = 'IMAGE'` extension.
    Image,
    /// Any other extension, by its `XTENSION` value (`BINTABLE`, `TABLE`, …).
    Other(String),
}

/// The facts of one header that the reader needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Hdu {
    /// Its position in the file: 0 for the primary HDU.
    pub index: usize,
    /// Primary, image extension or another extension.
    pub kind: HduKind,
    /// How the values are stored.
    pub bitpix: Bitpix,
    /// `NAXIS1 … NAXISn`, in the header's order (NAXIS1 varies fastest).
    pub axes: Vec<u64>,
    /// `PCOUNT` (0 when absent).
    pub pcount: u64,
    /// `GCOUNT` (1 when absent).
    pub gcount: u64,
    /// `GROUPS = T` with NAXIS1 = 0: random groups, not an image.
    pub random_groups: bool,
    /// `BSCALE`, `BZERO`, `BLANK`.
    pub scaling: Scaling,
    /// `ZIMAGE = T`: a tile-compressed image stored in a binary table (fpack's `.fz`).
    pub tile_compressed: bool,
}

impl Hdu {
    /// Reads the facts of `header`, the header of HDU `index` of `path`.
    ///
    /// # Errors
    /// [`DataError::Layout`] naming the keyword, when a mandatory keyword (`XTENSION`,
    /// `BITPIX`, `NAXIS`, `NAXISn`) is missing, when a value is not of its type, when `BITPIX`
    /// is not one of 8, 16, 32, 64, −32, −64, when `NAXIS` is outside 0–999 or an axis,
    /// `PCOUNT` or `GCOUNT` is negative.
    pub fn from_header(header: &Header, index: usize, path: &Path) -> Result<Hdu> {
        let check = Check {
            header,
            index,
            path,
        };
        let kind = if index == 0 {
            HduKind::Primary
        } else {
            match check.string("XTENSION")?.as_deref() {
                None => return Err(check.missing("XTENSION")),
                // IUEIMAGE: an early name of IMAGE, still read by astropy.
                Some("IMAGE" | "IUEIMAGE") => HduKind::Image,
                Some(other) => HduKind::Other(other.to_string()),
            }
        };
        let bitpix_value = check.required_integer("BITPIX")?;
        let bitpix = Bitpix::from_value(bitpix_value).ok_or_else(|| {
            check.bad(
                "BITPIX",
                "8, 16, 32 or 64 (integers), −32 or −64 (floating point)",
                bitpix_value.to_string(),
            )
        })?;
        let naxis = check.required_integer("NAXIS")?;
        if !(0..=999).contains(&naxis) {
            return Err(check.bad("NAXIS", "a number of axes from 0 to 999", naxis.to_string()));
        }
        let mut axes = Vec::with_capacity(naxis as usize);
        for n in 1..=naxis {
            let keyword = format!("NAXIS{n}");
            axes.push(check.count(&keyword, None)?);
        }
        let groups = check.logical("GROUPS")?.unwrap_or(false);
        let random_groups = kind == HduKind::Primary && groups && axes.first() == Some(&0);
        let blank = match check.integer("BLANK")? {
            Some(blank) if !bitpix.is_float() => Some(blank),
            _ => None,
        };
        Ok(Hdu {
            index,
            kind,
            bitpix,
            axes,
            pcount: check.count("PCOUNT", Some(0))?,
            gcount: check.count("GCOUNT", Some(1))?,
            random_groups,
            scaling: Scaling {
                bscale: check.real("BSCALE")?.unwrap_or(1.0),
                bzero: check.real("BZERO")?.unwrap_or(0.0),
                blank,
            },
            tile_compressed: check.logical("ZIMAGE")?.unwrap_or(false),
        })
    }

    /// The data unit's size in bytes, before padding (see the module doc); `None` when it
    /// does not fit in 64 bits.
    pub fn data_bytes(&self) -> Option<u64> {
        if self.axes.is_empty() {
            return Some(0);
        }
        let counted = if self.random_groups {
            &self.axes[1..]
        } else {
            &self.axes[..]
        };
        let values = counted
            .iter()
            .try_fold(1u64, |product, &axis| product.checked_mul(axis))?;
        let per_group = values.checked_add(self.pcount)?;
        per_group
            .checked_mul(self.gcount)?
            .checked_mul(self.bitpix.bytes() as u64)
    }

    /// Whether the HDU is an image with data: the primary HDU or an IMAGE extension, not
    /// random groups, with at least one value.
    pub fn holds_image(&self) -> bool {
        matches!(self.kind, HduKind::Primary | HduKind::Image)
            && !self.random_groups
            && self.data_bytes() != Some(0)
    }

    /// The HDU in words, for messages: "HDU 1 (a BINTABLE extension, tile-compressed image)".
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            HduKind::Primary if self.random_groups => "the primary HDU, random groups".to_string(),
            HduKind::Primary => format!("the primary HDU, NAXIS = {}", self.axes.len()),
            HduKind::Image => format!("an IMAGE extension, NAXIS = {}", self.axes.len()),
            HduKind::Other(name) if self.tile_compressed => {
                format!("a {name} extension holding a tile-compressed image (ZIMAGE = T)")
            }
            HduKind::Other(name) => format!("a {name} extension"),
        };
        let empty = if self.data_bytes() == Some(0) {
            ", no data"
        } else {
            ""
        };
        format!("HDU {} ({what}{empty})", self.index)
    }
}

/// Reads typed keywords of one header, turning a bad value into an error that names it.
struct Check<'a> {
    header: &'a Header,
    index: usize,
    path: &'a Path,
}

impl Check<'_> {
    fn bad(&self, keyword: &str, expected: &str, found: String) -> DataError {
        DataError::Layout {
            path: self.path.to_path_buf(),
            item: format!("keyword {keyword} of HDU {}", self.index),
            expected: expected.to_string(),
            found,
        }
    }

    fn missing(&self, keyword: &str) -> DataError {
        self.bad(
            keyword,
            "this mandatory keyword",
            "no such card in the header".to_string(),
        )
    }

    fn integer(&self, keyword: &str) -> Result<Option<i64>> {
        self.header
            .integer(keyword)
            .transpose()
            .map_err(|text| self.bad(keyword, "an integer", text))
    }

    fn required_integer(&self, keyword: &str) -> Result<i64> {
        self.integer(keyword)?.ok_or_else(|| self.missing(keyword))
    }

    /// An integer ≥ 0; `default` when absent, or an error when there is no default.
    fn count(&self, keyword: &str, default: Option<u64>) -> Result<u64> {
        match (self.integer(keyword)?, default) {
            (Some(value), _) => u64::try_from(value)
                .map_err(|_| self.bad(keyword, "an integer ≥ 0", value.to_string())),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(self.missing(keyword)),
        }
    }

    fn real(&self, keyword: &str) -> Result<Option<f64>> {
        self.header
            .real(keyword)
            .transpose()
            .map_err(|text| self.bad(keyword, "a finite number", text))
    }

    fn logical(&self, keyword: &str) -> Result<Option<bool>> {
        self.header
            .logical(keyword)
            .transpose()
            .map_err(|text| self.bad(keyword, "T or F", text))
    }

    fn string(&self, keyword: &str) -> Result<Option<String>> {
        self.header
            .string(keyword)
            .transpose()
            .map_err(|text| self.bad(keyword, "a string in single quotes", text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::header::{read_header, HeaderPlace, NextHeader, BLOCK_BYTES};
    use crate::fits::test_files::card;

    /// The HDU of a header made of `cards`: after SIMPLE = T for HDU 0, alone for an
    /// extension (whose cards start with XTENSION).
    fn hdu(index: usize, cards: &[(&str, &str)]) -> Result<Hdu> {
        let mut bytes: Vec<u8> = Vec::new();
        if index == 0 {
            bytes.extend(card("SIMPLE", "T"));
        }
        for (keyword, value) in cards {
            bytes.extend(card(keyword, value));
        }
        bytes.extend(card("END", ""));
        bytes.resize(bytes.len().div_ceil(BLOCK_BYTES) * BLOCK_BYTES, b' ');
        let path = Path::new("hdu.fits");
        let io_error = |e| DataError::io(path, e);
        let place = HeaderPlace {
            path,
            hdu: index,
            offset: 0,
            io_error: &io_error,
        };
        let NextHeader::Header(header) = read_header(&mut bytes.as_slice(), &place)? else {
            panic!("a header");
        };
        Hdu::from_header(&header, index, path)
    }

    #[test]
    fn an_image_header_gives_its_facts() {
        let image = hdu(
            0,
            &[
                ("BITPIX", "16"),
                ("NAXIS", "3"),
                ("NAXIS1", "7"),
                ("NAXIS2", "5"),
                ("NAXIS3", "3"),
                ("BSCALE", "0.5"),
                ("BZERO", "32768"),
                ("BLANK", "-32768"),
            ],
        )
        .expect("valid");
        assert_eq!(image.kind, HduKind::Primary);
        assert_eq!(image.bitpix, Bitpix::I16);
        assert_eq!(image.axes, [7, 5, 3]);
        assert_eq!(image.data_bytes(), Some(2 * 7 * 5 * 3));
        assert_eq!(
            image.scaling,
            Scaling {
                bscale: 0.5,
                bzero: 32768.0,
                blank: Some(-32768)
            }
        );
        assert!(image.holds_image());
        let empty = hdu(0, &[("BITPIX", "8"), ("NAXIS", "0")]).expect("valid");
        assert_eq!(empty.data_bytes(), Some(0));
        assert!(!empty.holds_image());
        assert_eq!(
            empty.describe(),
            "HDU 0 (the primary HDU, NAXIS = 0, no data)"
        );
    }

    #[test]
    fn a_table_counts_its_heap_and_groups() {
        let table = hdu(
            2,
            &[
                ("XTENSION", "'BINTABLE'"),
                ("BITPIX", "8"),
                ("NAXIS", "2"),
                ("NAXIS1", "32"),
                ("NAXIS2", "16"),
                ("PCOUNT", "935"),
                ("GCOUNT", "1"),
                ("ZIMAGE", "T"),
            ],
        )
        .expect("valid");
        assert_eq!(table.kind, HduKind::Other("BINTABLE".to_string()));
        assert_eq!(table.data_bytes(), Some(32 * 16 + 935));
        assert!(!table.holds_image());
        assert!(table.describe().contains("tile-compressed"));
    }

    #[test]
    fn huge_axes_do_not_overflow() {
        let huge = hdu(
            0,
            &[
                ("BITPIX", "-64"),
                ("NAXIS", "3"),
                ("NAXIS1", "4294967296"),
                ("NAXIS2", "4294967296"),
                ("NAXIS3", "4294967296"),
            ],
        )
        .expect("valid header");
        assert_eq!(huge.data_bytes(), None);
    }

    /// A header that must be refused, and the words its message must hold.
    struct BadHeaderCase {
        cards: &'static [(&'static str, &'static str)],
        needle: &'static str,
    }

    #[test]
    fn bad_keywords_are_named() {
        let cases = [
            BadHeaderCase {
                cards: &[("BITPIX", "12"), ("NAXIS", "0")],
                needle: "keyword BITPIX of HDU 0: expected 8, 16, 32 or 64",
            },
            BadHeaderCase {
                cards: &[("NAXIS", "0")],
                needle: "keyword BITPIX of HDU 0: expected this mandatory keyword",
            },
            BadHeaderCase {
                cards: &[("BITPIX", "8"), ("NAXIS", "1000")],
                needle: "from 0 to 999, found 1000",
            },
            BadHeaderCase {
                cards: &[("BITPIX", "8"), ("NAXIS", "2"), ("NAXIS1", "3")],
                needle: "keyword NAXIS2 of HDU 0",
            },
            BadHeaderCase {
                cards: &[("BITPIX", "8"), ("NAXIS", "1"), ("NAXIS1", "-3")],
                needle: "expected an integer ≥ 0, found -3",
            },
            BadHeaderCase {
                cards: &[("BITPIX", "8"), ("NAXIS", "1"), ("NAXIS1", "3.5")],
                needle: "expected an integer, found 3.5",
            },
            BadHeaderCase {
                cards: &[("BITPIX", "8"), ("NAXIS", "0"), ("BSCALE", "'two'")],
                needle: "keyword BSCALE of HDU 0: expected a finite number, found 'two'",
            },
        ];
        for case in cases {
            let message = hdu(0, case.cards).expect_err(case.needle).to_string();
            assert!(message.contains(case.needle), "{message}");
            assert!(message.contains("hdu.fits"), "{message}");
        }
    }
}
