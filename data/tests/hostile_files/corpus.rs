//! The corpus generator: valid seed files, the mutations applied to them, and the time limit
//! each parse runs under.
//!
//! A [`Seed`] is a valid file of one format together with the offsets of its size fields (IDX
//! dimensions, HDF5 dataspace dimensions, zip entry sizes, PNG and JPEG widths and heights),
//! so that a mutation can write a huge declared size exactly where a parser reads one. A
//! [`Mutation`] is one of the ways files go bad in the wild or by design:
//!
//! | mutation | what it models |
//! |---|---|
//! | `FlipBit` | a bit flipped on disk or on the wire |
//! | `Truncate` | a download or a copy cut short |
//! | `SetField` | a damaged or hostile header declaring a huge (or zero) size |
//! | `Duplicate` | a block written twice |
//! | `Remove` | a block missing |
//! | `Append` | garbage after the end, two files glued together |
//! | `Overwrite` | a run of random bytes |
//!
//! Positions are drawn as fractions of the file's length (a `u32` scaled to it), so the same
//! strategy serves files of any size and shrinks towards the file's start.
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

/// How long one parse may take before the test calls it a hang (the parses take milliseconds).
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Cases per fuzz test: a few hundred, which keeps the whole binary well under a minute in
/// release mode on two cores.
pub const CASES: u32 = 500;

/// The proptest configuration of every fuzz test: [`CASES`] cases, and shrinking bounded in
/// time (a hang costs [`TIME_LIMIT`] per shrinking step).
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

/// A size field of a seed file.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its offset in the file.
    pub offset: usize,
    /// Its width in bytes: 2, 4 or 8.
    pub width: usize,
    pub big_endian: bool,
}

impl Field {
    pub fn be(offset: usize, width: usize) -> Field {
        Field {
            offset,
            width,
            big_endian: true,
        }
    }

    pub fn le(offset: usize, width: usize) -> Field {
        Field {
            offset,
            width,
            big_endian: false,
        }
    }
}

/// A valid file and the size fields a mutation may overwrite.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub fields: Vec<Field>,
}

/// One change to a file (see the module doc). Positions are fractions of the length.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit { at: u32, bit: u8 },
    Truncate { keep: u32 },
    SetField { field: usize, value: u64 },
    Duplicate { start: u32, len: usize, to: u32 },
    Remove { start: u32, len: usize },
    Append { bytes: Vec<u8> },
    Overwrite { at: u32, bytes: Vec<u8> },
}

/// The values written into size fields: the largest of each width, powers of two that
/// overflow products, and zero and one.
const HUGE_VALUES: [u64; 8] = [
    u64::MAX,
    u32::MAX as u64,
    1 << 31,
    1 << 24,
    0xFFFF,
    1 << 15,
    1,
    0,
];

/// Any one mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<u32>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => any::<u32>().prop_map(|keep| Mutation::Truncate { keep }),
        3 => (any::<usize>(), prop::sample::select(&HUGE_VALUES[..]))
            .prop_map(|(field, value)| Mutation::SetField { field, value }),
        1 => (any::<u32>(), 1usize..256, any::<u32>())
            .prop_map(|(start, len, to)| Mutation::Duplicate { start, len, to }),
        1 => (any::<u32>(), 1usize..256).prop_map(|(start, len)| Mutation::Remove { start, len }),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Mutation::Append { bytes }),
        1 => (any::<u32>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
    ]
}

/// One to three mutations, applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..4)
}

/// `fraction` (a `u32` read as `fraction / 2³²`) of `len`.
fn position(fraction: u32, len: usize) -> usize {
    ((fraction as u64 * len as u64) >> 32) as usize
}

/// `seed`'s bytes with `mutations` applied in order. A field that a previous mutation moved
/// past the end is left alone.
pub fn mutate(seed: &Seed, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.bytes.clone();
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::FlipBit { at, bit } => {
                if len > 0 {
                    bytes[position(*at, len)] ^= 1 << bit;
                }
            }
            Mutation::Truncate { keep } => bytes.truncate(position(*keep, len)),
            Mutation::SetField { field, value } => {
                if seed.fields.is_empty() {
                    continue;
                }
                let field = seed.fields[field % seed.fields.len()];
                if field.offset + field.width > len {
                    continue;
                }
                let all = if field.big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                // The low `width` bytes of the value, in the field's byte order.
                let part = if field.big_endian {
                    &all[8 - field.width..]
                } else {
                    &all[..field.width]
                };
                bytes[field.offset..field.offset + field.width].copy_from_slice(part);
            }
            Mutation::Duplicate { start, len: n, to } => {
                let start = position(*start, len);
                let end = (start + n).min(len);
                let block = bytes[start..end].to_vec();
                let to = position(*to, len);
                bytes.splice(to..to, block);
            }
            Mutation::Remove { start, len: n } => {
                let start = position(*start, len);
                let end = (start + n).min(len);
                bytes.drain(start..end);
            }
            Mutation::Append { bytes: tail } => bytes.extend_from_slice(tail),
            Mutation::Overwrite { at, bytes: run } => {
                let at = position(*at, len);
                for (i, b) in run.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
        }
    }
    bytes
}

/// Runs `parse` on a thread of its own and waits at most [`TIME_LIMIT`]. Panics (which fails
/// the proptest case) when the parse hangs or panics: both are bugs for a parser of
/// untrusted files.
pub fn within_time_limit<T: Send + 'static>(
    what: &str,
    parse: impl FnOnce() -> T + Send + 'static,
) -> T {
    within(TIME_LIMIT, what, parse)
}

/// [`within_time_limit`] with the limit given.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    parse: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // The receiver may be gone after a timeout; nothing is left to tell then.
        let _ = sender.send(parse());
    });
    match receiver.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer after {limit:?}: the parser hangs")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the parser panicked"),
    }
}

/// Every offset where `pattern` starts in `bytes`.
pub fn find_all(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(at, _)| at)
        .collect()
}

#[test]
fn mutations_do_what_they_say() {
    let seed = Seed {
        name: "ten",
        bytes: (0..10).collect(),
        fields: vec![Field::be(2, 4), Field::le(6, 2)],
    };
    let half = u32::MAX / 2 + 1; // the fraction 1/2
    assert_eq!(mutate(&seed, &[Mutation::Truncate { keep: half }]).len(), 5);
    assert_eq!(
        mutate(
            &seed,
            &[Mutation::SetField {
                field: 0,
                value: 0x0102_0304
            }]
        )[2..6],
        [1, 2, 3, 4]
    );
    assert_eq!(
        mutate(
            &seed,
            &[Mutation::SetField {
                field: 1,
                value: u64::MAX
            }]
        )[6..8],
        [0xFF, 0xFF]
    );
    assert_eq!(
        mutate(&seed, &[Mutation::FlipBit { at: 0, bit: 7 }])[0],
        0x80
    );
    assert_eq!(
        mutate(
            &seed,
            &[Mutation::Duplicate {
                start: 0,
                len: 2,
                to: 0
            }]
        )[..4],
        [0, 1, 0, 1]
    );
    assert_eq!(
        mutate(&seed, &[Mutation::Remove { start: 0, len: 3 }])[0],
        3
    );
    assert_eq!(find_all(&[1, 2, 1, 2], &[1, 2]), vec![0, 2]);
    // The watchdog fails a case that panics and a case that hangs, and passes the others.
    assert_eq!(within_time_limit("a quick parse", || 7), 7);
    let panicked = std::panic::catch_unwind(|| {
        within_time_limit("a parse that panics", || panic!("planted panic"))
    });
    assert!(panicked.is_err());
    let hung = std::panic::catch_unwind(|| {
        within(Duration::from_millis(50), "a parse that hangs", || {
            std::thread::sleep(Duration::from_secs(2))
        })
    });
    assert!(hung.is_err());
}
