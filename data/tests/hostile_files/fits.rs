//! FITS files mutated: the astropy-written fixtures of `tests/fixtures/fits` (a scaled 8-bit
//! image, a cube of bands, an image extension after a table, a gzip file), damaged in their
//! bytes and in the values of their size cards. Every read ends in a typed error naming the
//! file, or in an image of rank 2 or 3 no larger than the file can hold; `load_image` (the
//! path of `flow_from_directory`) likewise.
use std::path::Path;

use astrograd_data::fits::{self, FitsImage, FitsOptions};
use astrograd_data::idx::{MAX_DECOMPRESSED_BYTES, MAX_DEFLATE_RATIO};
use astrograd_data::image_generator::{load_image, ColorMode, Interpolation};
use astrograd_data::DataError;
use proptest::prelude::*;

use crate::corpus::{config, find_all, mutate, mutations, within_time_limit, Field, Seed};
use crate::idx::gzip;

/// The fixture `name`, its size fields being the value columns of its size cards.
fn seed(name: &'static str) -> Seed {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fits")
        .join(name);
    let bytes = std::fs::read(path).expect("fixture");
    let fields = size_cards(&bytes)
        .into_iter()
        .map(|at| Field::be(at + 22, 8))
        .collect();
    Seed {
        name,
        bytes,
        fields,
    }
}

/// Where the cards that declare sizes start: BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT.
fn size_cards(bytes: &[u8]) -> Vec<usize> {
    let mut starts: Vec<usize> = [&b"BITPIX  = "[..], b"NAXIS", b"PCOUNT  = ", b"GCOUNT  = "]
        .iter()
        .flat_map(|keyword| find_all(bytes, keyword))
        .filter(|at| at % 80 == 0)
        .collect();
    starts.sort();
    starts
}

/// Card values a damaged or hostile header may hold where a size is expected.
const CARD_VALUES: [&str; 16] = [
    "0",
    "1",
    "-1",
    "3",
    "12",
    "-32",
    "999",
    "1000",
    "65536",
    "4294967296",
    "9223372036854775807",
    "99999999999999999999",
    "2.5",
    "1E300",
    "'text'",
    "T",
];

/// `bytes` with the value of size card `card` (an index into [`size_cards`]) set to `value`.
fn set_card(bytes: &mut [u8], card: usize, value: &str) {
    let starts = size_cards(bytes);
    if starts.is_empty() {
        return;
    }
    let at = starts[card % starts.len()];
    let field = format!("{value:>20}");
    bytes[at + 10..at + 30].copy_from_slice(field.as_bytes());
}

fn read(path: &Path) -> Result<FitsImage, DataError> {
    let path = path.to_path_buf();
    within_time_limit("fits::read", move || {
        fits::read(&path, &FitsOptions::default())
    })
}

/// A typed error of the reader's kinds naming the file, or an image no larger than the file
/// can hold.
fn check(outcome: &Result<FitsImage, DataError>, file_len: usize, name: &str) {
    match outcome {
        Ok(image) => {
            let shape = image.data.shape();
            assert!(shape.len() == 2 || shape.len() == 3, "{shape:?}");
            let pixels: usize = shape.iter().product();
            let stored = pixels as u64 * image.bitpix.value().unsigned_abs() / 8;
            let most = (file_len as u64 * MAX_DEFLATE_RATIO).min(MAX_DECOMPRESSED_BYTES);
            assert!(stored <= most.max(file_len as u64), "{stored} bytes");
            assert!(image.blank_pixels < pixels);
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    DataError::Corrupt { .. }
                        | DataError::Truncated { .. }
                        | DataError::TooLarge { .. }
                        | DataError::Layout { .. }
                        | DataError::CorruptGzip { .. }
                        | DataError::BlankImage { .. }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

/// Reads `bytes` alone and through `load_image`, and checks both.
fn read_and_check(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let outcome = read(&path);
    check(&outcome, bytes.len(), name);
    let image = within_time_limit("load_image", move || {
        load_image(&path, ColorMode::Grayscale, (8, 8), Interpolation::Bicubic)
    });
    match (outcome, image) {
        (Ok(_), Ok(image)) => assert_eq!(image.shape(), [8, 8, 1]),
        (_, Err(err)) => assert!(err.to_string().contains(name), "{err}"),
        (Err(err), Ok(_)) => panic!("read fails ({err}) but load_image reads"),
    }
}

const RAW_SEEDS: [&str; 3] = ["u8_scaled.fits", "cube_f32.fits", "extension.fits"];

proptest! {
    #![proptest_config(config())]

    /// Raw files, their bytes mutated and their size cards rewritten.
    #[test]
    fn mutated_fits_files(
        which in 0..RAW_SEEDS.len(),
        cards in prop::collection::vec((any::<usize>(), prop::sample::select(&CARD_VALUES[..])), 0..3),
        mutations in prop::option::of(mutations()),
    ) {
        let seed = seed(RAW_SEEDS[which]);
        let mut bytes = seed.bytes.clone();
        for (card, value) in &cards {
            set_card(&mut bytes, *card, value);
        }
        let bytes = match &mutations {
            Some(mutations) => mutate(&Seed { bytes, ..seed.clone() }, mutations),
            None => bytes,
        };
        read_and_check(seed.name, &bytes);
    }

    /// Gzip files mutated after compression (the container) or before it (the FITS inside).
    #[test]
    fn mutated_gzip_fits_files(
        outer in mutations(),
        cards in prop::collection::vec((any::<usize>(), prop::sample::select(&CARD_VALUES[..])), 0..3),
        inside in any::<bool>(),
    ) {
        let gz = seed("f32.fits.gz");
        let bytes = if inside {
            let mut bytes = seed("u8_scaled.fits").bytes;
            for (card, value) in &cards {
                set_card(&mut bytes, *card, value);
            }
            gzip(&bytes)
        } else {
            mutate(&gz, &outer)
        };
        read_and_check(gz.name, &bytes);
    }

    /// Every cut of a raw file before the end of its image's data is an error: a truncated
    /// image is never trained on. (A cut inside the padding after it is accepted.)
    #[test]
    fn cut_fits_files_are_errors(cut in any::<prop::sample::Index>(), which in 0..RAW_SEEDS.len()) {
        let seed = seed(RAW_SEEDS[which]);
        let image_end = match seed.name {
            "u8_scaled.fits" => 2880 + 35,
            "cube_f32.fits" => 2880 + 4 * 60,
            _ => seed.bytes.len() - 2880 + 2 * 12,
        };
        let keep = cut.index(image_end);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(seed.name);
        std::fs::write(&path, &seed.bytes[..keep]).expect("write");
        let err = read(&path).expect_err("a cut image");
        // A cut at the end of the table's HDU (or in its padding) leaves a file with no image.
        let no_image = seed.name == "extension.fits" && matches!(err, DataError::Layout { .. });
        prop_assert!(
            matches!(err, DataError::Truncated { .. } | DataError::Corrupt { .. }) || no_image,
            "{:?}", err
        );
        prop_assert!(err.to_string().contains(seed.name), "{}", err);
    }
}

#[test]
fn the_seeds_read_and_have_size_cards() {
    for name in RAW_SEEDS.iter().chain(&["f32.fits.gz"]) {
        let seed = seed(name);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(seed.name);
        std::fs::write(&path, &seed.bytes).expect("write");
        read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !name.ends_with(".gz") {
            assert!(
                seed.fields.len() >= 4,
                "{name}: {} size cards",
                seed.fields.len()
            );
        }
    }
    // The image of extension.fits ends 2·12 bytes into the last block.
    let extension = seed("extension.fits");
    assert_eq!(extension.bytes.len(), 5 * 2880);
}
