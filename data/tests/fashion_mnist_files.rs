//! Fashion-MNIST from the real files, when Debian's `dataset-fashion-mnist` is installed.
//!
//! CI installs the package, so there this test reads the genuine 60,000 + 10,000 images and
//! checks them against what `keras.datasets.fashion_mnist.load_data()` gives:
//!
//! ```python
//! (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
//! x_train.shape, x_test.shape  # (60000, 28, 28), (10000, 28, 28)
//! y_train[0]                   # 9, "Ankle boot"
//! np.bincount(y_train)         # 6000 of each class
//! ```
//!
//! Without the package the test records why it skipped (`astrograd_kernels::test_env::skip`;
//! with `ASTROGRAD_REQUIRE_DATA=1` it fails instead); the second test checks the same loader
//! everywhere on a small dataset it writes itself in the same format.
use std::io::Write;
use std::path::Path;

use astrograd_data::{download, fashion_mnist, idx};
use astrograd_kernels::test_env;
use flate2::write::GzEncoder;
use flate2::Compression;

#[test]
fn fashion_mnist_loads_like_keras() {
    let debian = Path::new(fashion_mnist::DEBIAN_DIR);
    let complete = fashion_mnist::FILES
        .iter()
        .all(|f| debian.join(f.name).is_file());
    if complete {
        check_real_files(debian);
        return;
    }
    test_env::skip(
        test_env::REQUIRE_DATA,
        &format!(
            "{} is missing or incomplete (apt-get install dataset-fashion-mnist to run this \
             test; `loader_reads_files_in_the_genuine_format` still checks the loader)",
            debian.display()
        ),
    );
}

fn check_real_files(dir: &Path) {
    let ((x_train, y_train), (x_test, y_test)) =
        fashion_mnist::load_data_from(dir).expect("the Debian files load");
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(y_train.shape(), &[60000]);
    assert_eq!(x_test.shape(), &[10000, 28, 28]);
    assert_eq!(y_test.shape(), &[10000]);

    let first = y_train.as_slice().unwrap()[0];
    assert_eq!(first, 9.0);
    assert_eq!(fashion_mnist::CLASS_NAMES[first as usize], "Ankle boot");

    let mut per_class = [0usize; 10];
    for &label in y_train.as_slice().unwrap() {
        assert!(
            (0.0..=9.0).contains(&label) && label.fract() == 0.0,
            "label {label}"
        );
        per_class[label as usize] += 1;
    }
    assert_eq!(per_class, [6000; 10]);
    assert!(y_test
        .as_slice()
        .unwrap()
        .iter()
        .all(|&l| (0.0..=9.0).contains(&l)));
    let (low, high) = x_train
        .as_slice()
        .unwrap()
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((low, high), (0.0, 255.0), "raw pixel values, not scaled");

    // Debian re-compressed the files; the data inside must be the published data.
    for (file, expected) in fashion_mnist::FILES
        .iter()
        .zip(fashion_mnist::CONTENT_SHA256)
    {
        let bytes = idx::read_maybe_gzip(&dir.join(file.name)).expect("readable");
        assert_eq!(download::sha256_bytes(&bytes), expected, "{}", file.name);
    }
}

/// The loader on a 5 + 3 image dataset in the genuine format, under the genuine names:
/// runs everywhere, with or without the Debian package.
#[test]
fn loader_reads_files_in_the_genuine_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let header =
        |words: &[u32]| -> Vec<u8> { words.iter().flat_map(|w| w.to_be_bytes()).collect() };
    let files: [Vec<u8>; 4] = [
        [header(&[0x803, 5, 28, 28]), vec![17; 5 * 784]].concat(),
        [header(&[0x801, 5]), vec![9, 0, 0, 3, 0]].concat(),
        [header(&[0x803, 3, 28, 28]), vec![255; 3 * 784]].concat(),
        [header(&[0x801, 3]), vec![9, 2, 1]].concat(),
    ];
    for (file, bytes) in fashion_mnist::FILES.iter().zip(&files) {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(bytes).expect("writing to a Vec cannot fail");
        let gz = gz.finish().expect("writing to a Vec cannot fail");
        std::fs::write(dir.path().join(file.name), gz).expect("write");
    }
    let ((x_train, y_train), (x_test, y_test)) =
        fashion_mnist::load_data_from(dir.path()).expect("the written files load");
    assert_eq!(x_train.shape(), &[5, 28, 28]);
    assert_eq!(x_test.shape(), &[3, 28, 28]);
    assert_eq!(y_train.as_slice().unwrap()[0], 9.0);
    assert_eq!(y_test.to_vec().unwrap(), vec![9.0, 2.0, 1.0]);
    assert_eq!(x_test.as_slice().unwrap()[0], 255.0);
}
