//! The header of one HDU: 80-character cards in 2880-byte blocks, ending with an `END` card.
//!
//! # Cards
//! ```text
//! columns  1–8    the keyword, left-justified and padded with spaces (BITPIX, NAXIS1, …)
//! columns  9–10   "= " when the card holds a value (COMMENT, HISTORY and blank cards do not)
//! columns 11–80   the value, then optionally " / a comment"
//! ```
//!
//! A value is a logical (`T` or `F`), an integer (`-32`), a real (`2.5E-3`, or `2.5D-3` with
//! Fortran's exponent letter), or a string in single quotes in which a quote is doubled
//! (`'O''HARA'`). The header ends with the card `END`; the rest of its last block is spaces.
//! Only cards with a value are kept: the reader looks keywords up, it does not need the
//! comments.
//!
//! # Reading a header that may be hostile
//! The header is read one block at a time, and a header without `END` in its first
//! [`MAX_HEADER_BLOCKS`] blocks is refused: a file of spaces cannot make the reader keep
//! gigabytes of cards. Bytes outside printable ASCII (not allowed by the standard) are read as
//! the Unicode replacement character, so they can only make a value fail to parse.
use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::idx::read_full;

/// The size of a FITS block: headers and data units fill whole blocks.
pub const BLOCK_BYTES: usize = 2880;

/// The size of one header card.
pub const CARD_BYTES: usize = 80;

/// The most blocks a header may take (36 cards each: 36 000 cards, 2.88 MB). Real headers
/// take a few blocks; a header with no `END` in this many is damaged or hostile.
pub const MAX_HEADER_BLOCKS: usize = 1000;

/// The cards of one header that hold a value, and the bytes the header takes in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// `(keyword, value)` in file order; the value as written (a string keeps its quotes),
    /// without its comment.
    cards: Vec<(String, String)>,
    /// The header's length in the file: whole 2880-byte blocks.
    pub bytes: u64,
}

/// What the next bytes of a file hold where a header could start.
#[derive(Debug)]
pub enum NextHeader {
    /// A whole header.
    Header(Header),
    /// The end of the file: no more HDUs.
    End,
    /// Bytes that are not an extension header: padding or junk after the last HDU, which
    /// astropy also ignores.
    NotAnExtension,
}

/// Where a header is read, for the messages.
pub struct HeaderPlace<'a> {
    /// The file.
    pub path: &'a Path,
    /// The HDU's index: 0 for the primary HDU.
    pub hdu: usize,
    /// The byte offset where the header starts.
    pub offset: u64,
    /// Turns a read error into the stream's error (gzip or raw).
    pub io_error: &'a dyn Fn(std::io::Error) -> DataError,
}

/// Reads the header that starts at the reader's position.
///
/// The primary header (HDU 0) must start with `SIMPLE  =                    T`; any other must
/// start with `XTENSION=`, else [`NextHeader::NotAnExtension`] is returned.
///
/// # Errors
/// [`DataError::Corrupt`] when the primary header does not start with `SIMPLE = T` (not a
/// FITS file); [`DataError::Truncated`] when the file ends inside the header (before `END`);
/// [`DataError::Layout`] when there is no `END` in [`MAX_HEADER_BLOCKS`] blocks; the stream's
/// read errors.
pub fn read_header(reader: &mut impl Read, place: &HeaderPlace) -> Result<NextHeader> {
    let primary = place.hdu == 0;
    let mut cards = Vec::new();
    let mut block = vec![0u8; BLOCK_BYTES];
    for blocks in 0..MAX_HEADER_BLOCKS {
        let got = read_full(reader, &mut block).map_err(place.io_error)?;
        if blocks == 0 {
            let start = &block[..got];
            if primary && !start.starts_with(b"SIMPLE  =") {
                return Err(not_fits(place.path, &start[..got.min(CARD_BYTES)]));
            }
            if !primary && got == 0 {
                return Ok(NextHeader::End);
            }
            if !primary && !start.starts_with(b"XTENSION=") {
                return Ok(NextHeader::NotAnExtension);
            }
        }
        let bytes_so_far = (blocks * BLOCK_BYTES + got) as u64;
        if got < BLOCK_BYTES {
            return Err(DataError::Truncated {
                path: place.path.to_path_buf(),
                expected: place.offset + ((blocks + 1) * BLOCK_BYTES) as u64,
                found: place.offset + bytes_so_far,
                detail: format!(
                    "the header of HDU {} stops after {bytes_so_far} bytes, without its END \
                     card (headers are whole 2880-byte blocks)",
                    place.hdu
                ),
            });
        }
        if primary && blocks == 0 {
            let simple = card_value(&block[..CARD_BYTES]);
            if simple.as_ref().map(|(_, v)| v.as_str()) != Some("T") {
                return Err(not_fits(place.path, &block[..CARD_BYTES]));
            }
        }
        for card in block.chunks_exact(CARD_BYTES) {
            if keyword(card) == "END" {
                return Ok(NextHeader::Header(Header {
                    cards,
                    bytes: ((blocks + 1) * BLOCK_BYTES) as u64,
                }));
            }
            if let Some(keyword_value) = card_value(card) {
                cards.push(keyword_value);
            }
        }
    }
    Err(DataError::Layout {
        path: place.path.to_path_buf(),
        item: format!("the header of HDU {}", place.hdu),
        expected: format!(
            "an END card within {MAX_HEADER_BLOCKS} blocks of 2880 bytes ({} cards)",
            MAX_HEADER_BLOCKS * BLOCK_BYTES / CARD_BYTES
        ),
        found: format!("no END card in the first {MAX_HEADER_BLOCKS} blocks"),
    })
}

/// The error for a file whose first card is not `SIMPLE = T`.
fn not_fits(path: &Path, first_card: &[u8]) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        format: "FITS",
        detail: format!(
            "expected the first card to be `SIMPLE  =                    T`, found {:?}",
            String::from_utf8_lossy(first_card).trim_end()
        ),
    }
}

/// Columns 1–8 of a card, without the padding.
fn keyword(card: &[u8]) -> String {
    String::from_utf8_lossy(&card[..8]).trim_end().to_string()
}

/// `(keyword, value)` of a card that holds a value (`"= "` in columns 9–10), else `None`.
fn card_value(card: &[u8]) -> Option<(String, String)> {
    if &card[8..10] != b"= " {
        return None;
    }
    Some((keyword(card), value_text(&card[10..])))
}

/// Columns 11–80 up to the comment: a quoted string whole (a `/` inside it is text), any
/// other value up to the first `/`; spaces around it removed.
fn value_text(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    let text = text.trim_start();
    if !text.starts_with('\'') {
        return text.split('/').next().unwrap_or("").trim().to_string();
    }
    // A string: up to the quote that closes it; '' inside is an escaped quote.
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().map(|&(_, next)| next) == Some('\'') {
                chars.next();
                continue;
            }
            return text[..=at].to_string();
        }
    }
    // No closing quote: the whole field, which `string` then refuses.
    text.trim_end().to_string()
}

impl Header {
    /// The value of the first card with `keyword`, as written.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.cards
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
    }

    /// An integer value, `None` when the keyword is absent, `Err(value)` when the value is
    /// not an integer.
    pub fn integer(&self, keyword: &str) -> Option<std::result::Result<i64, String>> {
        let text = self.get(keyword)?;
        Some(text.parse::<i64>().map_err(|_| text.to_string()))
    }

    /// A real value (an integer is a real too; `D` is an exponent letter as `E`), `Err(value)`
    /// when the value is not a finite number.
    pub fn real(&self, keyword: &str) -> Option<std::result::Result<f64, String>> {
        let text = self.get(keyword)?;
        // Digits, sign, point and exponent letter only: Rust would also read "inf" and "NaN".
        let number_text = text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.EeDd".contains(c));
        Some(match text.replace(['D', 'd'], "E").parse::<f64>() {
            Ok(value) if number_text && value.is_finite() => Ok(value),
            _ => Err(text.to_string()),
        })
    }

    /// A logical value, `Err(value)` when it is neither `T` nor `F`.
    pub fn logical(&self, keyword: &str) -> Option<std::result::Result<bool, String>> {
        let text = self.get(keyword)?;
        Some(match text {
            "T" => Ok(true),
            "F" => Ok(false),
            other => Err(other.to_string()),
        })
    }

    /// A string value without its quotes ('' read as '), trailing spaces removed;
    /// `Err(value)` when it is not a quoted string.
    pub fn string(&self, keyword: &str) -> Option<std::result::Result<String, String>> {
        let text = self.get(keyword)?;
        let inner = text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .filter(|_| text.len() >= 2);
        Some(match inner {
            Some(inner) => Ok(inner.replace("''", "'").trim_end().to_string()),
            None => Err(text.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::test_files::{card, raw_card};

    fn header_of(cards: &[[u8; CARD_BYTES]]) -> Header {
        let mut bytes: Vec<u8> = cards.iter().flatten().copied().collect();
        bytes.extend(card("END", ""));
        bytes.resize(bytes.len().div_ceil(BLOCK_BYTES) * BLOCK_BYTES, b' ');
        let io_error = |e| DataError::io("test.fits", e);
        let place = HeaderPlace {
            path: Path::new("test.fits"),
            hdu: 0,
            offset: 0,
            io_error: &io_error,
        };
        match read_header(&mut bytes.as_slice(), &place).expect("a header") {
            NextHeader::Header(header) => header,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_of_every_kind_are_read() {
        let header = header_of(&[
            card("SIMPLE", "T"),
            card("BITPIX", "-32 / array data type"),
            card("BSCALE", "2.5D-1"),
            card("BZERO", "+32768"),
            card("OBJECT", "'M31 / Andromeda' / a slash inside the string"),
            card("OBSERVER", "'O''HARA   '"),
            card("BAD", "'never closed"),
            card("NOTREAL", "inf"),
            raw_card("COMMENT   = commentary: columns 9-10 are spaces, so not a value"),
        ]);
        assert_eq!(header.bytes, BLOCK_BYTES as u64);
        assert_eq!(header.logical("SIMPLE"), Some(Ok(true)));
        assert_eq!(header.integer("BITPIX"), Some(Ok(-32)));
        assert_eq!(header.real("BSCALE"), Some(Ok(0.25)));
        assert_eq!(header.real("BZERO"), Some(Ok(32768.0)));
        assert_eq!(header.integer("BZERO"), Some(Ok(32768)));
        assert_eq!(
            header.string("OBJECT"),
            Some(Ok("M31 / Andromeda".to_string()))
        );
        assert_eq!(header.string("OBSERVER"), Some(Ok("O'HARA".to_string())));
        assert_eq!(header.string("BAD"), Some(Err("'never closed".to_string())));
        assert_eq!(header.real("NOTREAL"), Some(Err("inf".to_string())));
        assert_eq!(header.integer("BSCALE"), Some(Err("2.5D-1".to_string())));
        assert_eq!(header.get("COMMENT"), None);
        assert_eq!(header.get("NAXIS"), None);
    }

    #[test]
    fn a_lone_quote_is_a_bad_string_not_a_panic() {
        // fitsrs 0.4.1 panics on this card (`&s[1..0]`); here it is a value that is not a string.
        let header = header_of(&[card("SIMPLE", "T"), card("OBJECT", "'")]);
        assert_eq!(header.string("OBJECT"), Some(Err("'".to_string())));
    }

    #[test]
    fn a_header_takes_whole_blocks() {
        let many: Vec<[u8; CARD_BYTES]> = std::iter::once(card("SIMPLE", "T"))
            .chain((0..40).map(|i| card(&format!("KEY{i}"), &i.to_string())))
            .collect();
        let header = header_of(&many);
        assert_eq!(header.bytes, 2 * BLOCK_BYTES as u64);
        assert_eq!(header.integer("KEY39"), Some(Ok(39)));
    }
}
