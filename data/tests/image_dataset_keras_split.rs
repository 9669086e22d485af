//! `image_dataset_from_directory` puts the same files in the same subsets, in the same order,
//! as tf.keras 2.10 (`tools/keras_image_dataset_fixtures.py` wrote what Keras chose, for the
//! folder this test builds again with the same names), and reads FITS files beside pictures.
use std::path::Path;

use astrograd_data::image_generator::{
    image_dataset_from_directory, ImageDatasetOptions, LabelMode, Subset,
};

/// `galaxies/{elliptical,spiral}/g_NN.png` (12 and 9), and `spiral/deeper/g_99.png`.
fn build(root: &Path) {
    let mut files: Vec<String> = (0..12)
        .map(|i| format!("elliptical/g_{i:02}.png"))
        .collect();
    files.extend((0..9).map(|i| format!("spiral/g_{i:02}.png")));
    files.push("spiral/deeper/g_99.png".to_string());
    for name in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(4, 4, image::Rgb([128; 3]))
            .save(&path)
            .unwrap();
    }
}

#[test]
fn the_subsets_are_keras_s() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keras_image_dataset_splits.json");
    let text = std::fs::read_to_string(&fixture).expect("the fixture");
    let keras: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("galaxies");
    build(&root);
    let cases = keras["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let seed = case["seed"].as_u64().unwrap() as u32;
        let split = case["validation_split"].as_f64().unwrap();
        for (subset, key) in [
            (Subset::Training, "training"),
            (Subset::Validation, "validation"),
        ] {
            let ds = image_dataset_from_directory(
                &root,
                ImageDatasetOptions::default()
                    .validation_split(split)
                    .subset(subset)
                    .seed(seed)
                    .image_size(4, 4)
                    .batch_size(4),
            )
            .unwrap();
            let expected: Vec<&str> = case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(ds.file_paths(), expected, "seed {seed}, {key}");
            assert_eq!(ds.class_names(), ["elliptical", "spiral"]);
            // Each file's label is its folder's.
            for (path, &label) in ds.file_paths().iter().zip(ds.labels()) {
                assert_eq!(path.starts_with("spiral"), label == 1, "{path}");
            }
        }
    }
}

/// A one-band `BITPIX = -32` FITS file of `side × side` values `value`.
fn fits(path: &Path, side: usize, value: f32) {
    let cards = [
        "SIMPLE  =                    T".to_string(),
        "BITPIX  =                  -32".to_string(),
        "NAXIS   =                    2".to_string(),
        format!("NAXIS1  = {side:>20}"),
        format!("NAXIS2  = {side:>20}"),
        "END".to_string(),
    ];
    let mut bytes: Vec<u8> = cards
        .iter()
        .flat_map(|card| format!("{card:<80}").into_bytes())
        .collect();
    bytes.resize(2880, b' ');
    for _ in 0..side * side {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn fits_files_are_read_beside_pictures_with_their_physical_values() {
    let dir = tempfile::tempdir().unwrap();
    for (class, value) in [("faint", 0.25f32), ("bright", 4000.0)] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for k in 0..3 {
            fits(
                &dir.path().join(class).join(format!("cutout_{k}.fits")),
                8,
                value,
            );
        }
    }
    image::RgbImage::from_pixel(8, 8, image::Rgb([7; 3]))
        .save(dir.path().join("faint").join("picture.png"))
        .unwrap();
    let mut ds = image_dataset_from_directory(
        dir.path(),
        ImageDatasetOptions::default()
            .image_size(8, 8)
            .batch_size(16)
            .shuffle(false)
            .label_mode(LabelMode::Binary),
    )
    .unwrap();
    assert_eq!(ds.samples(), 7);
    assert_eq!(ds.class_names(), ["bright", "faint"]);
    ds.on_epoch_start(0);
    let (x, y) = ds.batch(0).unwrap();
    assert_eq!(x.shape(), [7, 8, 8, 3]);
    let (x, y) = (x.to_vec().unwrap(), y.to_vec().unwrap());
    assert_eq!(y, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    let first_pixel = |i: usize| x[i * 192];
    assert_eq!(
        (0..7).map(first_pixel).collect::<Vec<_>>(),
        [4000.0, 4000.0, 4000.0, 0.25, 0.25, 0.25, 7.0],
        "FITS values stay physical, the PNG stays 0–255"
    );
}
