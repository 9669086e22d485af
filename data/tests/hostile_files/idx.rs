//! IDX files (raw and gzip) mutated: every parse ends in a typed error or in data of the
//! declared shape, and the payload never exceeds what the file can hold.
use std::io::Write;
use std::path::Path;

use astrograd_data::idx::{self, IdxArray, MAX_DECOMPRESSED_BYTES, MAX_DEFLATE_RATIO};
use astrograd_data::DataError;
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

use crate::corpus::{config, mutate, mutations, within_time_limit, Field, Mutation, Seed};

/// An IDX images file of `n` images of `h`×`w` with a pixel pattern.
fn images_file(n: u32, h: u32, w: u32) -> Vec<u8> {
    let mut out: Vec<u8> = [idx::IMAGES_MAGIC, n, h, w]
        .iter()
        .flat_map(|word| word.to_be_bytes())
        .collect();
    out.extend((0..n * h * w).map(|i| (i * 7 % 256) as u8));
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// The raw seed: 5 images of 6×4, its three dimensions as size fields.
fn raw_seed() -> Seed {
    Seed {
        name: "raw-images-idx3-ubyte",
        bytes: images_file(5, 6, 4),
        fields: vec![Field::be(4, 4), Field::be(8, 4), Field::be(12, 4)],
    }
}

/// The gzip seed: the raw seed compressed (its fields are inside the deflate stream, so the
/// mutations act on the container: CRC, sizes, flags, compressed blocks).
fn gzip_seed() -> Seed {
    let bytes = gzip(&raw_seed().bytes);
    let len = bytes.len();
    Seed {
        name: "gzip-images-idx3-ubyte.gz",
        bytes,
        // The gzip trailer: CRC-32 and the uncompressed length ISIZE, little-endian.
        fields: vec![Field::le(len - 8, 4), Field::le(len - 4, 4)],
    }
}

/// Reads `bytes` as an IDX images file at `path`, under the time limit.
fn read(path: &Path, bytes: Vec<u8>) -> Result<IdxArray, DataError> {
    std::fs::write(path, bytes).expect("temp dir is writable");
    let path = path.to_path_buf();
    within_time_limit("idx::read_images", move || idx::read_images(&path))
}

/// The properties of one parse of `file_len` bytes: either a typed IDX error naming the file,
/// or dims of rank 3 whose product is the data's length and no more than the file can hold.
fn check(outcome: Result<IdxArray, DataError>, file_len: usize, name: &str) {
    match outcome {
        Ok(array) => {
            assert_eq!(array.dims.len(), 3);
            assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
            let most = (file_len as u64 * MAX_DEFLATE_RATIO).min(MAX_DECOMPRESSED_BYTES);
            assert!(array.data.len() as u64 <= most.max(file_len as u64));
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    DataError::BadMagic { .. }
                        | DataError::Truncated { .. }
                        | DataError::TrailingData { .. }
                        | DataError::TooLarge { .. }
                        | DataError::CorruptGzip { .. }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Raw files, mutated.
    #[test]
    fn raw_idx_files(mutations in mutations()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = raw_seed();
        let bytes = mutate(&seed, &mutations);
        let len = bytes.len();
        check(read(&dir.path().join(seed.name), bytes), len, seed.name);
    }

    /// Gzip files mutated after compression (the container) and before it (the header and
    /// data inside a valid gzip stream), sometimes split into two gzip members.
    #[test]
    fn gzip_idx_files(
        outer in mutations(),
        inner in mutations(),
        inside in any::<bool>(),
        split in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = gzip_seed();
        let bytes = if inside {
            let raw = mutate(&raw_seed(), &inner);
            // Two members: `cat a.gz b.gz`, still one valid gzip stream.
            let at = split.index(raw.len() + 1);
            let (head, tail) = raw.split_at(at);
            [gzip(head), gzip(tail)].concat()
        } else {
            mutate(&seed, &outer)
        };
        let len = bytes.len();
        let outcome = read(&dir.path().join(seed.name), bytes);
        check(outcome, len, seed.name);
    }

    /// A raw or gzip file with the only change a huge declared size is refused, never read.
    #[test]
    fn huge_declared_sizes_are_refused(field in 0usize..3, value in (1u64 << 24)..=u32::MAX as u64, gz in any::<bool>()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let raw = mutate(&raw_seed(), &[Mutation::SetField { field, value }]);
        let bytes = if gz { gzip(&raw) } else { raw };
        let err = read(&dir.path().join("huge"), bytes).expect_err("more than the file holds");
        prop_assert!(
            matches!(err, DataError::TooLarge { .. } | DataError::Truncated { .. }),
            "{:?}", err
        );
    }
}
