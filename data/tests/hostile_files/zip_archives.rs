//! Zip archives laid out as `cats_and_dogs_filtered.zip`, mutated: extraction either gives
//! back exactly the archived bytes or a typed error, and an error leaves nothing behind.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use astrograd_data::cats_and_dogs::{self, CatsAndDogs, FOLDER, ZIP_NAME};
use astrograd_data::DataError;
use proptest::prelude::*;

use crate::corpus::{config, find_all, mutate, mutations, within_time_limit, Field, Seed};

/// The entries of the seed archives: the four class folders, a few "pictures" of varied
/// sizes (bytes that compress somewhat, as JPEGs do not), and a script at the top.
fn entries() -> BTreeMap<String, Vec<u8>> {
    let body = |seed: u32, len: u32| -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8 & 0x3f)
            .collect()
    };
    BTreeMap::from([
        (format!("{FOLDER}/vectorize.py"), b"print('hi')\n".to_vec()),
        (format!("{FOLDER}/train/cats/cat.0.jpg"), body(1, 700)),
        (format!("{FOLDER}/train/cats/cat.1.jpg"), body(2, 90)),
        (format!("{FOLDER}/train/dogs/dog.0.jpg"), body(3, 1200)),
        (
            format!("{FOLDER}/validation/cats/cat.2000.jpg"),
            body(4, 300),
        ),
        (
            format!("{FOLDER}/validation/dogs/dog.2000.jpg"),
            body(5, 40),
        ),
    ])
}

/// The size fields of a zip: entry sizes, name and extra lengths and header offsets in the
/// local and central headers, and the counts and offsets of the end of central directory.
fn zip_fields(bytes: &[u8]) -> Vec<Field> {
    let mut fields = Vec::new();
    for at in find_all(bytes, b"PK\x03\x04") {
        fields.extend([
            Field::le(at + 18, 4),
            Field::le(at + 22, 4),
            Field::le(at + 26, 2),
            Field::le(at + 28, 2),
        ]);
    }
    for at in find_all(bytes, b"PK\x01\x02") {
        fields.extend([
            Field::le(at + 20, 4),
            Field::le(at + 24, 4),
            Field::le(at + 28, 2),
            Field::le(at + 30, 2),
            Field::le(at + 32, 2),
            Field::le(at + 42, 4),
        ]);
    }
    for at in find_all(bytes, b"PK\x05\x06") {
        fields.extend([
            Field::le(at + 8, 2),
            Field::le(at + 10, 2),
            Field::le(at + 12, 4),
            Field::le(at + 16, 4),
            Field::le(at + 20, 2),
        ]);
    }
    fields
}

/// A valid archive of [`entries`] with `method`, built with the `zip` crate.
fn seed(name: &'static str, method: zip::CompressionMethod) -> Seed {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (entry, body) in entries() {
        writer.start_file(entry, options).expect("start entry");
        writer.write_all(&body).expect("write entry");
    }
    let bytes = writer.finish().expect("finish").into_inner();
    let fields = zip_fields(&bytes);
    Seed {
        name,
        bytes,
        fields,
    }
}

/// Every file under `root`, relative to it, with its bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let name = relative.to_string_lossy().replace('\\', "/");
                out.insert(name, std::fs::read(&path).expect("readable"));
            }
        }
    }
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Extracts `bytes` as the zip into a fresh folder and checks the outcome: a tree whose every
/// file holds the archived bytes (of its own name when the name survived), or a typed error
/// naming the zip with nothing extracted. Returns whether it extracted.
fn extract_and_check(bytes: Vec<u8>) -> bool {
    let root = tempfile::tempdir().expect("temp dir");
    let zip = root.path().join(ZIP_NAME);
    let into = root.path().join("into");
    std::fs::write(&zip, bytes).expect("write zip");
    let (zip_arg, into_arg) = (zip.clone(), into.clone());
    let outcome: Result<CatsAndDogs, DataError> =
        within_time_limit("cats_and_dogs::extract", move || {
            cats_and_dogs::extract(&zip_arg, &into_arg)
        });
    match outcome {
        Ok(data) => {
            assert_eq!(data.root, into.join(FOLDER));
            assert_eq!(names_in(&into), vec![FOLDER], "no staging folder is left");
            let originals = entries();
            for (name, body) in files_under(&into) {
                match originals.get(&name) {
                    Some(original) => assert_eq!(&body, original, "{name}"),
                    None => assert!(originals.values().any(|b| *b == body), "{name}"),
                }
            }
            true
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    DataError::Corrupt { .. }
                        | DataError::CorruptEntry { .. }
                        | DataError::UnsafeArchiveEntry { .. }
                        | DataError::Layout { .. }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(ZIP_NAME), "{err}");
            assert!(names_in(&into).is_empty(), "{:?}", names_in(&into));
            false
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn deflated_archives(mutations in mutations()) {
        let seed = seed("deflated.zip", zip::CompressionMethod::Deflated);
        extract_and_check(mutate(&seed, &mutations));
    }

    #[test]
    fn stored_archives(mutations in mutations()) {
        let seed = seed("stored.zip", zip::CompressionMethod::Stored);
        extract_and_check(mutate(&seed, &mutations));
    }
}

#[test]
fn the_seeds_extract_whole() {
    for method in [
        zip::CompressionMethod::Deflated,
        zip::CompressionMethod::Stored,
    ] {
        let seed = seed("seed.zip", method);
        assert_eq!(seed.fields.len(), 6 * 4 + 6 * 6 + 5);
        assert!(extract_and_check(seed.bytes), "{method:?}");
    }
}
