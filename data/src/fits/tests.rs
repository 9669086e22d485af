//! The FITS reader on files written here byte by byte (every BITPIX, scaling, blanks, cubes,
//! extensions, gzip, damaged files) and on files written by astropy
//! (`tools/fits_fixtures.py`).
use std::path::{Path, PathBuf};

use super::test_files::{big_endian, card, file, gzip, TestHdu};
use super::*;

/// Writes `bytes` as `name` in a fresh folder; the folder lives as long as the returned guard.
fn written(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    (dir, path)
}

fn read_bytes(name: &str, bytes: &[u8]) -> Result<FitsImage> {
    let (_dir, path) = written(name, bytes);
    read(&path, &FitsOptions::default().blank_value(-7.0))
}

/// A file of one image HDU and the values it must read as.
struct ImageCase {
    name: &'static str,
    hdu: TestHdu,
    shape: Vec<usize>,
    values: Vec<f32>,
    blanks: usize,
}

#[test]
fn every_bitpix_with_its_scaling() {
    let cases = [
        ImageCase {
            name: "u8.fits",
            hdu: TestHdu::primary(8, &[3, 2], vec![0, 1, 2, 253, 254, 255])
                .with("BSCALE", "0.5")
                .with("BZERO", "10"),
            shape: vec![2, 3],
            values: vec![10.0, 10.5, 11.0, 136.5, 137.0, 137.5],
            blanks: 0,
        },
        ImageCase {
            name: "i16_unsigned.fits",
            hdu: TestHdu::primary(
                16,
                &[2, 2],
                big_endian(&[-32768i16, -1, 0, 32767], i16::to_be_bytes),
            )
            .with("BZERO", "32768"),
            shape: vec![2, 2],
            values: vec![0.0, 32767.0, 32768.0, 65535.0],
            blanks: 0,
        },
        ImageCase {
            name: "i16_blank.fits",
            hdu: TestHdu::primary(16, &[3, 1], big_endian(&[5i16, -999, 6], i16::to_be_bytes))
                .with("BSCALE", "2.0")
                .with("BZERO", "1.0")
                .with("BLANK", "-999"),
            shape: vec![1, 3],
            values: vec![11.0, -7.0, 13.0],
            blanks: 1,
        },
        ImageCase {
            name: "i32.fits",
            hdu: TestHdu::primary(
                32,
                &[2, 2],
                big_endian(&[i32::MIN, -3, 4, i32::MAX], i32::to_be_bytes),
            )
            .with("BSCALE", "1.0D0")
            .with("BZERO", "2147483648"),
            shape: vec![2, 2],
            values: vec![0.0, 2147483645.0, 2147483652.0, 4294967295.0],
            blanks: 0,
        },
        ImageCase {
            name: "i64.fits",
            hdu: TestHdu::primary(
                64,
                &[2, 1],
                big_endian(&[-(1i64 << 40), 3], i64::to_be_bytes),
            )
            .with("BLANK", "3"),
            shape: vec![1, 2],
            values: vec![-((1u64 << 40) as f32), -7.0],
            blanks: 1,
        },
        ImageCase {
            name: "f32.fits",
            hdu: TestHdu::primary(
                -32,
                &[2, 2],
                big_endian(&[1.5f32, f32::NAN, -0.25, 3.0], f32::to_be_bytes),
            )
            .with("BSCALE", "2")
            .with("BLANK", "0"), // not for float images: ignored
            shape: vec![2, 2],
            values: vec![3.0, -7.0, -0.5, 6.0],
            blanks: 1,
        },
        ImageCase {
            name: "f64.fits",
            hdu: TestHdu::primary(
                -64,
                &[3, 1],
                big_endian(&[1e-3f64, f64::NAN, 1e300], f64::to_be_bytes),
            ),
            shape: vec![1, 3],
            values: vec![1e-3, -7.0, f32::INFINITY],
            blanks: 1,
        },
        ImageCase {
            // (B 2, H 1, W 3) in the file; bands last in the tensor.
            name: "cube.fits",
            hdu: TestHdu::primary(
                -32,
                &[3, 1, 2],
                big_endian(&[1.0f32, 2.0, 3.0, 10.0, 20.0, 30.0], f32::to_be_bytes),
            ),
            shape: vec![1, 3, 2],
            values: vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0],
            blanks: 0,
        },
        ImageCase {
            // A fourth axis of length 1 (a radio cube's Stokes axis) is dropped.
            name: "stokes.fits",
            hdu: TestHdu::primary(8, &[2, 1, 1, 1], vec![4, 5]),
            shape: vec![1, 2, 1],
            values: vec![4.0, 5.0],
            blanks: 0,
        },
    ];
    for case in cases {
        let bytes = case.hdu.bytes();
        for (name, bytes) in [
            (case.name.to_string(), bytes.clone()),
            (format!("{}.gz", case.name), gzip(&bytes)),
        ] {
            let image = read_bytes(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(image.data.shape(), case.shape, "{name}");
            assert_eq!(image.data.to_vec().expect("values"), case.values, "{name}");
            assert_eq!(image.blank_pixels, case.blanks, "{name}");
            assert_eq!(image.hdu, 0);
        }
    }
}

#[test]
fn the_first_image_extension_is_read_past_tables() {
    let bytes = file(&[
        TestHdu::primary(8, &[], vec![]).with("EXTEND", "T"),
        // A table whose heap (PCOUNT) makes it longer than NAXIS1·NAXIS2.
        TestHdu::extension("BINTABLE", 8, &[4, 3], vec![9; 4 * 3 + 3000])
            .with("PCOUNT", "3000")
            .with("TFIELDS", "1"),
        TestHdu::extension(
            "IMAGE",
            16,
            &[2, 2],
            big_endian(&[1i16, 2, 3, 4], i16::to_be_bytes),
        )
        .with("BSCALE", "0.5"),
        TestHdu::extension("IMAGE", 8, &[1, 1], vec![200]),
    ]);
    let image = read_bytes("ext.fits", &bytes).expect("reads");
    assert_eq!(image.hdu, 2);
    assert_eq!(image.bitpix, Bitpix::I16);
    assert_eq!(image.data.to_vec().expect("values"), [0.5, 1.0, 1.5, 2.0]);
}

#[test]
fn a_missing_final_padding_is_accepted() {
    let bytes = TestHdu::primary(8, &[2, 2], vec![1, 2, 3, 4]).bytes();
    let unpadded = &bytes[..BLOCK_BYTES + 4];
    let image = read_bytes("unpadded.fits", unpadded).expect("reads");
    assert_eq!(image.data.to_vec().expect("values"), [1.0, 2.0, 3.0, 4.0]);
}

/// A damaged or unusable file, the error it must give, and words of its message.
struct BadFileCase {
    name: &'static str,
    bytes: Vec<u8>,
    is_expected: fn(&DataError) -> bool,
    needle: &'static str,
}

#[test]
fn bad_files_are_typed_errors_naming_the_file() {
    let good = TestHdu::primary(-32, &[4, 3], big_endian(&[1.0f32; 12], f32::to_be_bytes)).bytes();
    let table = TestHdu::extension("BINTABLE", 8, &[4, 2], vec![0; 8]);
    let cases = [
        BadFileCase {
            name: "header_cut.fits",
            bytes: good[..1000].to_vec(),
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            needle: "stops after 1000 bytes, without its END card",
        },
        BadFileCase {
            name: "no_end.fits",
            bytes: {
                let mut bytes = card("SIMPLE", "T").to_vec();
                bytes.resize(3 * BLOCK_BYTES, b' ');
                bytes
            },
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            needle: "expected 11520 bytes (the header of HDU 0 stops after 8640 bytes",
        },
        BadFileCase {
            name: "data_cut.fits",
            bytes: good[..BLOCK_BYTES + 20].to_vec(),
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            needle: "expected 2928 bytes",
        },
        BadFileCase {
            name: "data_cut.fits.gz",
            bytes: gzip(&good[..BLOCK_BYTES + 20]),
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            needle: "found 2900",
        },
        BadFileCase {
            name: "huge_axes.fits",
            bytes: TestHdu::primary(16, &[1 << 32, 1 << 32, 1 << 32], vec![]).bytes(),
            is_expected: |e| matches!(e, DataError::TooLarge { .. }),
            needle: "more than 2^64 bytes",
        },
        BadFileCase {
            name: "big_axes.fits.gz",
            bytes: gzip(&TestHdu::primary(16, &[1 << 20, 1 << 20], vec![]).bytes()),
            is_expected: |e| matches!(e, DataError::TooLarge { .. }),
            needle: "inflate to at most",
        },
        BadFileCase {
            name: "bitpix12.fits",
            bytes: TestHdu::primary(12, &[2, 2], vec![0; 6]).bytes(),
            is_expected: |e| matches!(e, DataError::Layout { .. }),
            needle: "keyword BITPIX of HDU 0: expected 8, 16, 32 or 64 (integers), −32 or −64 (floating point), found 12",
        },
        BadFileCase {
            name: "table_only.fits",
            bytes: file(&[TestHdu::primary(8, &[], vec![]), table]),
            is_expected: |e| matches!(e, DataError::Layout { .. }),
            needle: "found HDU 0 (the primary HDU, NAXIS = 0, no data), HDU 1 (a BINTABLE extension)",
        },
        BadFileCase {
            name: "spectrum.fits",
            bytes: TestHdu::primary(-32, &[3], big_endian(&[1.0f32; 3], f32::to_be_bytes)).bytes(),
            is_expected: |e| matches!(e, DataError::Layout { .. }),
            needle: "found NAXIS = 1, NAXISn [3]",
        },
        BadFileCase {
            name: "gcount.fits",
            bytes: TestHdu::primary(8, &[2, 2], vec![0; 12])
                .with("GCOUNT", "3")
                .bytes(),
            is_expected: |e| matches!(e, DataError::Layout { .. }),
            needle: "expected PCOUNT = 0 and GCOUNT = 1 for an image, found PCOUNT = 0, GCOUNT = 3",
        },
        BadFileCase {
            name: "all_nan.fits",
            bytes: TestHdu::primary(-32, &[2, 2], big_endian(&[f32::NAN; 4], f32::to_be_bytes))
                .bytes(),
            is_expected: |e| matches!(e, DataError::BlankImage { pixels: 4, .. }),
            needle: "found all 4 pixels blank",
        },
        BadFileCase {
            name: "all_blank.fits",
            bytes: TestHdu::primary(8, &[2, 1], vec![0, 0]).with("BLANK", "0").bytes(),
            is_expected: |e| matches!(e, DataError::BlankImage { pixels: 2, .. }),
            needle: "blank",
        },
        BadFileCase {
            name: "picture.fits",
            bytes: b"\x89PNG\r\n\x1a\n not a FITS file at all".to_vec(),
            is_expected: |e| matches!(e, DataError::Corrupt { format: "FITS", .. }),
            needle: "expected the first card to be `SIMPLE  =",
        },
        BadFileCase {
            name: "simple_f.fits",
            bytes: TestHdu {
                cards: vec![card("SIMPLE", "F")],
                data: vec![],
            }
            .bytes(),
            is_expected: |e| matches!(e, DataError::Corrupt { format: "FITS", .. }),
            needle: "SIMPLE",
        },
        BadFileCase {
            name: "crc.fits.gz",
            bytes: {
                let mut bytes = gzip(&good);
                let crc_at = bytes.len() - 8;
                bytes[crc_at] ^= 0xff;
                bytes
            },
            is_expected: |e| matches!(e, DataError::CorruptGzip { .. }),
            needle: "corrupt gzip data",
        },
    ];
    for case in cases {
        let err = read_bytes(case.name, &case.bytes).expect_err(case.name);
        assert!((case.is_expected)(&err), "{}: {err:?}", case.name);
        let message = err.to_string();
        assert!(message.contains(case.name), "{message}");
        assert!(message.contains(case.needle), "{}: {message}", case.name);
    }
}

#[test]
fn fits_names() {
    for name in [
        "a.fits",
        "B.FIT",
        "c.fts",
        "d.fits.gz",
        "e.Fit.GZ",
        "dir/f.fts.gz",
    ] {
        assert!(is_fits_name(name), "{name}");
    }
    for name in ["outfit", "a.fitsx", "a.gz", "a.png", "fits"] {
        assert!(!is_fits_name(name), "{name}");
    }
}

/// `tests/fixtures/fits/`, written by `tools/fits_fixtures.py`.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fits")
}

/// `expected.json` of the fixtures.
fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("parses")
}

/// Every astropy-written file reads as `fits.getdata` returns it: astropy's shape
/// `(NAXIS3, NAXIS2, NAXIS1)` is ours `(H, W, bands)`; blanks (NaN in astropy) become our
/// blank value.
#[test]
fn files_written_by_astropy_read_as_astropy_reads_them() {
    let expected = expected();
    let files = expected["files"].as_object().expect("files");
    assert!(files.len() >= 12, "{} files", files.len());
    for (name, want) in files {
        let image = read(
            fixtures().join(name),
            &FitsOptions::default().blank_value(-7.0),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect();
        let values: Vec<Option<f64>> = want["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|v| v.as_f64())
            .collect();
        // astropy (B, H, W) → ours (H, W, B).
        let (ours_shape, ours_values) = if shape.len() == 3 {
            let [b, h, w] = [shape[0], shape[1], shape[2]];
            let mut moved = vec![None; values.len()];
            for (k, v) in values.iter().enumerate() {
                let (band, pixel) = (k / (h * w), k % (h * w));
                moved[pixel * b + band] = *v;
            }
            (vec![h, w, b], moved)
        } else {
            (shape, values)
        };
        assert_eq!(image.data.shape(), ours_shape, "{name}");
        let got = image.data.to_vec().expect("values");
        let blanks = ours_values.iter().filter(|v| v.is_none()).count();
        assert_eq!(image.blank_pixels, blanks, "{name}");
        for (i, (ours, theirs)) in got.iter().zip(&ours_values).enumerate() {
            // astropy's value rounded to f32, as ours is.
            let theirs = theirs.map_or(-7.0, |v| v as f32);
            assert!(
                ours == &theirs || (ours - theirs).abs() <= 1e-6 * theirs.abs(),
                "{name}[{i}]: {ours} vs astropy {theirs}"
            );
        }
    }
}

#[test]
fn files_astropy_writes_that_are_not_images_are_refused() {
    let err = load(fixtures().join("table_only.fits")).expect_err("a table");
    assert!(err.to_string().contains("a BINTABLE extension"), "{err}");
    let err = load(fixtures().join("tile_compressed.fits")).expect_err("fpack's convention");
    let message = err.to_string();
    assert!(
        message.contains("tile-compressed image (ZIMAGE = T)"),
        "{message}"
    );
    assert!(message.contains("`funpack` the file first"), "{message}");
    let err = load(fixtures().join("all_nan.fits")).expect_err("every pixel NaN");
    assert!(
        matches!(err, DataError::BlankImage { pixels: 12, .. }),
        "{err:?}"
    );
}
