//! Galaxy10 HDF5 files mutated: the two fixtures of `tests/fixtures/galaxy10` (SDSS,
//! contiguous; DECals, gzip- and shuffle-chunked), with their dataspace dimensions as size
//! fields.
use std::path::{Path, PathBuf};

use astrograd_data::galaxy10::{
    self, Galaxy10Images, DECALS_FILE, MAX_DATASET_BYTES, MAX_DEFLATE_RATIO, NUM_CLASSES,
};
use astrograd_data::DataError;
use proptest::prelude::*;

use crate::corpus::{config, find_all, mutate, mutations, within_time_limit, Field, Seed};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/galaxy10")
        .join(name)
}

/// A fixture whose images have `shape`. Its size fields: each axis of every place the whole
/// shape is written (little-endian u64: the dataspace's dims and max dims), and every other
/// u64 equal to N (among them the labels' `(N,)`).
fn seed(name: &'static str, shape: [u64; 4]) -> Seed {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    let shape_bytes: Vec<u8> = shape.iter().flat_map(|d| d.to_le_bytes()).collect();
    let mut fields = Vec::new();
    for start in find_all(&bytes, &shape_bytes) {
        fields.extend((0..4).map(|axis| Field::le(start + 8 * axis, 8)));
    }
    for at in find_all(&bytes, &shape[0].to_le_bytes()) {
        if !fields.iter().any(|f| f.offset == at) {
            fields.push(Field::le(at, 8));
        }
    }
    assert!(fields.len() >= 9, "{name}: {} size fields", fields.len());
    Seed {
        name,
        bytes,
        fields,
    }
}

fn read(path: &Path, bytes: Vec<u8>) -> Result<Galaxy10Images, DataError> {
    std::fs::write(path, bytes).expect("temp dir is writable");
    let path = path.to_path_buf();
    within_time_limit("galaxy10::read", move || {
        galaxy10::read(&path, &DECALS_FILE)
    })
}

/// Either a typed error naming the file, or images of the declared layout `[N, S, S, 3]`
/// with N labels in 0..10, no larger than the file can hold.
fn check(outcome: Result<Galaxy10Images, DataError>, file_len: usize, name: &str) {
    match outcome {
        Ok(data) => {
            let [n, h, w, c] = data.shape;
            assert_eq!((h, c), (w, 3), "{:?}", data.shape);
            assert_eq!(data.images.len(), n * h * w * c);
            assert_eq!(data.labels.len(), n);
            assert!(data.labels.iter().all(|&l| (l as usize) < NUM_CLASSES));
            let most = (file_len as u64 * MAX_DEFLATE_RATIO).min(MAX_DATASET_BYTES);
            assert!(data.images.len() as u64 <= most);
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    DataError::Truncated { .. }
                        | DataError::Corrupt { .. }
                        | DataError::Layout { .. }
                        | DataError::TooLarge { .. }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sdss_files(mutations in mutations()) {
        let seed = seed("galaxy10_sdss.h5", [12, 69, 69, 3]);
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes = mutate(&seed, &mutations);
        let len = bytes.len();
        check(read(&dir.path().join(seed.name), bytes), len, seed.name);
    }

    #[test]
    fn decals_files(mutations in mutations()) {
        let seed = seed("galaxy10_decals.h5", [5, 64, 64, 3]);
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes = mutate(&seed, &mutations);
        let len = bytes.len();
        check(read(&dir.path().join(seed.name), bytes), len, seed.name);
    }
}
