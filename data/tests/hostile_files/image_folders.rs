//! Pictures mutated (a JPEG and a PNG), read alone with `load_image` and among good pictures
//! through `flow_from_directory`: a picture of the target shape or a typed error naming the
//! file; a cut JPEG or PNG is never a picture.
use std::path::Path;

use astrograd_data::image_generator::{
    load_image, ClassMode, ColorMode, DirectoryOptions, Image, ImageDataGenerator, Interpolation,
    OnBadImage,
};
use astrograd_data::DataError;
use proptest::prelude::*;

use crate::corpus::{config, find_all, mutate, mutations, within_time_limit, Field, Seed};

/// The side of the pictures the generator makes (small: the fuzzing is about decoding).
const TARGET: (usize, usize) = (8, 8);

fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([
            (x * 7 + y * 3) as u8,
            (x * y % 251) as u8,
            (x ^ y) as u8 * 4,
        ])
    })
}

fn encode(format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture().write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A JPEG whose size fields are its frame header's height and width (big-endian u16 after
/// the SOF0 marker, its length and its precision) and every segment length.
fn jpeg_seed() -> Seed {
    let bytes = encode(image::ImageFormat::Jpeg);
    let mut fields = Vec::new();
    for at in find_all(&bytes, &[0xFF, 0xC0]) {
        fields.extend([Field::be(at + 5, 2), Field::be(at + 7, 2)]);
    }
    for marker in [0xC4, 0xDA, 0xDB, 0xE0] {
        fields.extend(
            find_all(&bytes, &[0xFF, marker])
                .into_iter()
                .map(|at| Field::be(at + 2, 2)),
        );
    }
    assert!(fields.len() >= 4, "{} fields", fields.len());
    Seed {
        name: "mutated.jpg",
        bytes,
        fields,
    }
}

/// A PNG whose size fields are IHDR's width and height and every chunk's length.
fn png_seed() -> Seed {
    let bytes = encode(image::ImageFormat::Png);
    let mut fields = vec![Field::be(16, 4), Field::be(20, 4)];
    for chunk in [&b"IHDR"[..], b"IDAT", b"IEND"] {
        fields.extend(
            find_all(&bytes, chunk)
                .into_iter()
                .map(|at| Field::be(at - 4, 4)),
        );
    }
    Seed {
        name: "mutated.png",
        bytes,
        fields,
    }
}

fn load(path: &Path) -> Result<Image, DataError> {
    let path = path.to_path_buf();
    within_time_limit("load_image", move || {
        load_image(&path, ColorMode::Rgb, TARGET, Interpolation::Bilinear)
    })
}

/// A picture of the target shape with values in 0–255, or a typed error naming the file.
fn check_one(outcome: &Result<Image, DataError>, name: &str) {
    match outcome {
        Ok(image) => {
            assert_eq!(image.shape(), [TARGET.0, TARGET.1, 3]);
            assert_eq!(image.data.len(), TARGET.0 * TARGET.1 * 3);
            assert!(image.data.iter().all(|v| (0.0..=255.0).contains(v)));
        }
        Err(err) => {
            assert!(
                matches!(err, DataError::BadImage { .. } | DataError::NotAFile { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

/// A class folder holding the mutated file and one good picture: with `Skip` the batch holds
/// the good one and the mutated one if, and only if, it loads alone; with `Fail` it is an
/// error naming the mutated file exactly when the file alone fails (an empty file is not
/// listed at all).
fn check_in_folder(bytes: &[u8], name: &str, alone_ok: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let class = dir.path().join("things");
    std::fs::create_dir_all(&class).expect("mkdir");
    std::fs::write(class.join(name), bytes).expect("write");
    picture().save(class.join("good.png")).expect("save");
    for policy in [OnBadImage::Skip, OnBadImage::Fail] {
        let root = dir.path().to_path_buf();
        let name = name.to_string();
        let batch = within_time_limit("flow_from_directory", move || {
            let options = DirectoryOptions::default()
                .target_size(TARGET.0, TARGET.1)
                .class_mode(ClassMode::Sparse)
                .batch_size(4)
                .shuffle(false)
                .prefetch(0)
                .on_bad_image(policy);
            let mut it = ImageDataGenerator::default()
                .flow_from_directory_with_log(&root, options, &mut std::io::sink())
                .expect("the folder lists");
            it.batch(0).map(|(x, _)| x.shape().to_vec())
        });
        match (policy, alone_ok, batch) {
            // An empty file is left out of the listing (with a warning) whatever the policy.
            (_, false, Ok(shape)) if bytes.is_empty() => {
                assert_eq!(shape, [1, TARGET.0, TARGET.1, 3])
            }
            (_, true, Ok(shape)) => assert_eq!(shape, [2, TARGET.0, TARGET.1, 3]),
            (OnBadImage::Skip, false, Ok(shape)) => {
                assert_eq!(shape, [1, TARGET.0, TARGET.1, 3])
            }
            (OnBadImage::Fail, false, Err(err)) => {
                assert!(err.to_string().contains(&name), "{err}")
            }
            (policy, alone_ok, outcome) => panic!(
                "{policy:?}: alone the file loads: {alone_ok}, in a folder: {:?}",
                outcome.map_err(|e| e.to_string())
            ),
        }
    }
}

fn load_and_check(seed: &Seed, bytes: Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(seed.name);
    std::fs::write(&path, &bytes).expect("write");
    let outcome = load(&path);
    check_one(&outcome, seed.name);
    check_in_folder(&bytes, seed.name, outcome.is_ok());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_jpegs(mutations in mutations()) {
        let seed = jpeg_seed();
        load_and_check(&seed, mutate(&seed, &mutations));
    }

    #[test]
    fn mutated_pngs(mutations in mutations()) {
        let seed = png_seed();
        load_and_check(&seed, mutate(&seed, &mutations));
    }

    /// Every cut of a JPEG before its last byte, and of a PNG before its IEND chunk, is an
    /// error: a truncated picture is never trained on.
    #[test]
    fn cut_pictures_are_errors(cut in any::<prop::sample::Index>(), png in any::<bool>()) {
        let seed = if png { png_seed() } else { jpeg_seed() };
        // IEND is the PNG's last 12 bytes; FF D9 the JPEG's last 2.
        let keep = cut.index(seed.bytes.len() - if png { 12 } else { 1 });
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(seed.name);
        std::fs::write(&path, &seed.bytes[..keep]).expect("write");
        let err = load(&path).expect_err("a cut picture");
        prop_assert!(err.to_string().contains(seed.name), "{}", err);
    }
}

#[test]
fn the_seeds_load() {
    for seed in [jpeg_seed(), png_seed()] {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(seed.name);
        std::fs::write(&path, &seed.bytes).expect("write");
        let image = load(&path).expect("a valid picture");
        assert_eq!(image.shape(), [TARGET.0, TARGET.1, 3]);
    }
}
