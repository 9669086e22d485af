//! FITS files written byte by byte for the tests: 80-character cards, headers and data units
//! padded to 2880-byte blocks, big-endian values.
use std::io::Write;

use super::header::{BLOCK_BYTES, CARD_BYTES};

/// One card: the keyword in columns 1–8, `= ` and the value from column 11 (numbers and
/// logicals right-justified to column 30, as the standard's fixed format has them). An empty
/// value gives a card without `= ` (`END`, or commentary).
pub fn card(keyword: &str, value: &str) -> [u8; CARD_BYTES] {
    let text = if value.is_empty() {
        keyword.to_string()
    } else if value.starts_with('\'') || value.len() > 20 {
        format!("{keyword:<8}= {value}")
    } else {
        format!("{keyword:<8}= {value:>20}")
    };
    raw_card(&text)
}

/// `text` as a card: cut or padded with spaces to 80 columns.
pub fn raw_card(text: &str) -> [u8; CARD_BYTES] {
    let mut out = [b' '; CARD_BYTES];
    let n = text.len().min(CARD_BYTES);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// An HDU to write: its cards (without `END`) and its data unit.
pub struct TestHdu {
    pub cards: Vec<[u8; CARD_BYTES]>,
    pub data: Vec<u8>,
}

impl TestHdu {
    /// A primary HDU holding `data`: SIMPLE, BITPIX, NAXIS, NAXISn (`axes` in FITS order,
    /// NAXIS1 first).
    pub fn primary(bitpix: i64, axes: &[usize], data: Vec<u8>) -> TestHdu {
        let mut cards = vec![card("SIMPLE", "T")];
        cards.extend(axis_cards(bitpix, axes));
        TestHdu { cards, data }
    }

    /// An extension (`'IMAGE'`, `'BINTABLE'`, …) holding `data`, with PCOUNT 0 and GCOUNT 1.
    pub fn extension(xtension: &str, bitpix: i64, axes: &[usize], data: Vec<u8>) -> TestHdu {
        let mut cards = vec![card("XTENSION", &format!("'{xtension:<8}'"))];
        cards.extend(axis_cards(bitpix, axes));
        cards.push(card("PCOUNT", "0"));
        cards.push(card("GCOUNT", "1"));
        TestHdu { cards, data }
    }

    /// The HDU with the card `keyword = value`, in place of the one it had.
    pub fn with(mut self, keyword: &str, value: &str) -> TestHdu {
        let new = card(keyword, value);
        match self.cards.iter_mut().find(|c| c[..8] == new[..8]) {
            Some(old) => *old = new,
            None => self.cards.push(new),
        }
        self
    }

    /// The header (cards, `END`, spaces to a whole block), then the data (zeros to a whole
    /// block).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.cards.iter().flatten().copied().collect();
        out.extend(card("END", ""));
        out.resize(out.len().div_ceil(BLOCK_BYTES) * BLOCK_BYTES, b' ');
        let mut data = self.data.clone();
        data.resize(data.len().div_ceil(BLOCK_BYTES) * BLOCK_BYTES, 0);
        out.extend(data);
        out
    }
}

fn axis_cards(bitpix: i64, axes: &[usize]) -> Vec<[u8; CARD_BYTES]> {
    let mut cards = vec![
        card("BITPIX", &bitpix.to_string()),
        card("NAXIS", &axes.len().to_string()),
    ];
    for (n, axis) in axes.iter().enumerate() {
        cards.push(card(&format!("NAXIS{}", n + 1), &axis.to_string()));
    }
    cards
}

/// A file of these HDUs, one after the other.
pub fn file(hdus: &[TestHdu]) -> Vec<u8> {
    hdus.iter().flat_map(TestHdu::bytes).collect()
}

/// Values as big-endian bytes: `big_endian(&[1i16, -2], i16::to_be_bytes)`.
pub fn big_endian<T: Copy, const N: usize>(values: &[T], to_be: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_be(v)).collect()
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}
