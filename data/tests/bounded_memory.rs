//! Memory stays bounded on hostile files: the peak of live heap bytes while a parser reads a
//! file built to exhaust memory, measured by a counting global allocator.
//!
//! Each case is a file whose header declares (or whose compressed data inflates to) far more
//! than the parser should hold, and the bound its read must stay under. The allocator counts
//! every allocation of the process, so the cases run one at a time (the `SERIAL` lock) and
//! the bounds leave room for the small buffers of the decoders.
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use astrograd_data::image_generator::{load_image, ColorMode, Interpolation};
use astrograd_data::{cats_and_dogs, galaxy10, idx, DataError};
use flate2::write::GzEncoder;
use flate2::Compression;

/// The system allocator, counting the bytes alive and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One case at a time: the counters see the whole process.
static SERIAL: Mutex<()> = Mutex::new(());

const MIB: usize = 1 << 20;

/// Runs `read` and returns its result with the most heap bytes it held above what was
/// alive when it started.
fn peak_during<T>(read: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = read();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (out, peak)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

fn idx_header(dims: [u32; 3]) -> Vec<u8> {
    [idx::IMAGES_MAGIC, dims[0], dims[1], dims[2]]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp dir is writable");
    path
}

/// The negative control: a read that does hold 64 MiB is seen holding them.
#[test]
fn the_counter_sees_what_a_read_holds() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (sum, peak) = peak_during(|| {
        let held = vec![1u8; 64 * MIB];
        held.iter().map(|&b| b as usize).sum::<usize>()
    });
    assert_eq!(sum, 64 * MIB);
    // Within a few bytes: libtest tears a finished test's thread down (its name, its
    // thread-locals) after the test has let go of SERIAL, so those frees can land inside
    // this window and lower the count by a hundred bytes or so.
    assert!(peak >= 64 * MIB - 64 * 1024, "{peak} bytes seen");
}

#[test]
fn a_gzip_idx_that_inflates_to_a_gigabyte_stops_at_its_declared_size() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 2·28·28 bytes declared, then 1 GiB of zeros in 64 members of 16 MiB (16 KiB each).
    let zeros = gzip(&vec![0u8; 16 * MIB]);
    let mut bytes = gzip(&[idx_header([2, 28, 28]), vec![7; 2 * 784]].concat());
    for _ in 0..64 {
        bytes.extend_from_slice(&zeros);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "bomb.gz", &bytes);
    drop((zeros, bytes));
    let (outcome, peak) = peak_during(|| idx::read_images(&path));
    assert!(
        matches!(outcome, Err(DataError::TrailingData { .. })),
        "{outcome:?}"
    );
    assert!(peak < MIB, "{peak} bytes held");
}

#[test]
fn a_gzip_idx_declaring_a_gigabyte_holds_only_what_arrives() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 1 GiB declared; 1 MiB of bytes that do not compress, so the file may inflate to 1 GiB
    // by the deflate ratio; but only 1 MiB arrives.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..MIB)
        .map(|_| {
            // xorshift64: bytes deflate cannot shrink.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let bytes = gzip(&[idx_header([1024, 1024, 1024]), noise].concat());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "declares-1GiB.gz", &bytes);
    drop(bytes);
    let (outcome, peak) = peak_during(|| idx::read_images(&path));
    assert!(
        matches!(outcome, Err(DataError::Truncated { .. })),
        "{outcome:?}"
    );
    assert!(peak < 4 * MIB, "{peak} bytes held");
}

#[test]
fn a_galaxy10_file_declaring_far_more_than_it_holds_allocates_nothing_for_it() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The SDSS fixture (173 kB) with 12000 images declared: 171 MB, within the old bound of
    // 1032 times the file, refused now because the dataset is stored uncompressed.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/galaxy10/galaxy10_sdss.h5");
    let mut bytes = std::fs::read(fixture).expect("fixture");
    let shape: Vec<u8> = [12u64, 69, 69, 3]
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    let starts: Vec<usize> = bytes
        .windows(shape.len())
        .enumerate()
        .filter(|(_, w)| *w == shape)
        .map(|(at, _)| at)
        .collect();
    assert!(!starts.is_empty());
    for at in starts {
        bytes[at..at + 8].copy_from_slice(&12_000u64.to_le_bytes());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "Galaxy10.h5", &bytes);
    drop(bytes);
    let (outcome, peak) = peak_during(|| galaxy10::read(&path, &galaxy10::SDSS_FILE));
    assert!(
        matches!(outcome, Err(DataError::TooLarge { .. })),
        "{outcome:?}"
    );
    assert!(peak < 8 * MIB, "{peak} bytes held");
}

#[test]
fn a_zip_entry_that_inflates_past_its_declared_size_stops_there() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A picture declared as 100 bytes whose deflate data inflates to 64 MiB of zeros.
    let folder = cats_and_dogs::FOLDER;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for class in cats_and_dogs::CLASS_FOLDERS {
        writer
            .add_directory(format!("{folder}/{class}"), options)
            .expect("folder");
    }
    let bomb = format!("{folder}/train/dogs/dog.0.jpg");
    writer.start_file(bomb.as_str(), options).expect("entry");
    writer.write_all(&vec![0u8; 64 * MIB]).expect("write");
    let mut bytes = writer.finish().expect("finish").into_inner();
    // The uncompressed size sits 8 bytes before the name in the local header, 22 in the
    // central one.
    let name = bomb.as_bytes();
    let starts: Vec<usize> = bytes
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name)
        .map(|(at, _)| at)
        .collect();
    assert_eq!(starts.len(), 2);
    for (at, back) in starts.into_iter().zip([8, 22]) {
        bytes[at - back..at - back + 4].copy_from_slice(&100u32.to_le_bytes());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), cats_and_dogs::ZIP_NAME, &bytes);
    drop(bytes);
    let into = dir.path().join("into");
    let (outcome, peak) = peak_during(|| cats_and_dogs::extract(&path, &into));
    let err = outcome.expect_err("more than declared");
    assert!(matches!(err, DataError::CorruptEntry { .. }), "{err:?}");
    assert!(peak < 4 * MIB, "{peak} bytes held");
    assert_eq!(std::fs::read_dir(&into).map(|d| d.count()).unwrap_or(0), 0);
}

/// A picture whose header declares 65535×65535 pixels (12.9 GB as RGB).
struct HugePictureCase {
    name: &'static str,
    bytes: Vec<u8>,
}

#[test]
fn pictures_declaring_billions_of_pixels_are_refused_before_decoding() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let small = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8, y as u8, 0]));
    let encode = |format| {
        let mut out = std::io::Cursor::new(Vec::new());
        small.write_to(&mut out, format).expect("encode");
        out.into_inner()
    };
    let mut png = encode(image::ImageFormat::Png);
    // IHDR: width and height at 16 and 20, then the chunk's CRC-32 over type and data.
    png[16..20].copy_from_slice(&65535u32.to_be_bytes());
    png[20..24].copy_from_slice(&65535u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    let mut jpeg = encode(image::ImageFormat::Jpeg);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let cases = [
        HugePictureCase {
            name: "huge.png",
            bytes: png,
        },
        HugePictureCase {
            name: "huge.jpg",
            bytes: jpeg,
        },
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for case in cases {
        let path = write(dir.path(), case.name, &case.bytes);
        let (outcome, peak) =
            peak_during(|| load_image(&path, ColorMode::Rgb, (8, 8), Interpolation::Nearest));
        let err = outcome.expect_err(case.name);
        assert!(matches!(err, DataError::BadImage { .. }), "{err:?}");
        assert!(peak < 16 * MIB, "{}: {peak} bytes held", case.name);
    }
}

/// A FITS primary header for an image of `axes` (NAXIS1 first), cards padded to one block.
fn fits_header(bitpix: i64, axes: &[u64]) -> Vec<u8> {
    let mut cards = vec![
        format!("{:<8}= {:>20}", "SIMPLE", "T"),
        format!("{:<8}= {:>20}", "BITPIX", bitpix),
        format!("{:<8}= {:>20}", "NAXIS", axes.len()),
    ];
    for (n, axis) in axes.iter().enumerate() {
        cards.push(format!("{:<8}= {:>20}", format!("NAXIS{}", n + 1), axis));
    }
    cards.push("END".to_string());
    let mut bytes: Vec<u8> = cards
        .iter()
        .flat_map(|card| format!("{card:<80}").into_bytes())
        .collect();
    bytes.resize(2880, b' ');
    bytes
}

/// A FITS file whose header declares far more than it holds, and the error it must give.
struct DeclaredFitsCase {
    name: &'static str,
    bytes: Vec<u8>,
    is_expected: fn(&DataError) -> bool,
    /// The most heap bytes the read may hold.
    bound: usize,
}

#[test]
fn fits_files_declaring_more_than_they_hold_allocate_nothing_for_it() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..MIB)
        .map(|_| {
            // xorshift64: bytes deflate cannot shrink.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let cases = [
        DeclaredFitsCase {
            // 65536 × 65536 × 64 doubles: 2 TiB, in a file of two blocks.
            name: "two-tebibytes.fits",
            bytes: [fits_header(-64, &[65536, 65536, 64]), vec![0; 2880]].concat(),
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            bound: MIB,
        },
        DeclaredFitsCase {
            // 256 MiB declared; 1 MiB of zeros compresses to about 1 KiB, which may inflate
            // to about 1 MiB: refused before reading.
            name: "declares-256MiB.fits.gz",
            bytes: gzip(&[fits_header(-32, &[8192, 8192]), vec![0; MIB]].concat()),
            is_expected: |e| matches!(e, DataError::TooLarge { .. }),
            bound: MIB,
        },
        DeclaredFitsCase {
            // 512 MiB declared, within what 1 MiB of noise may inflate to; 1 MiB arrives.
            name: "declares-512MiB.fits.gz",
            bytes: gzip(&[fits_header(-32, &[16384, 8192]), noise].concat()),
            is_expected: |e| matches!(e, DataError::Truncated { .. }),
            bound: 4 * MIB,
        },
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for case in cases {
        let path = write(dir.path(), case.name, &case.bytes);
        let (outcome, peak) = peak_during(|| astrograd_data::fits::load(&path));
        let err = outcome.expect_err(case.name);
        assert!((case.is_expected)(&err), "{}: {err:?}", case.name);
        assert!(err.to_string().contains(case.name), "{err}");
        assert!(peak < case.bound, "{}: {peak} bytes held", case.name);
    }
}

#[test]
fn a_gzip_fits_followed_by_a_gigabyte_of_zeros_stops_at_the_limit_without_holding_it() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A 4×4 image, then 1 GiB of zeros in 64 gzip members of 16 MiB (16 KiB each): the
    // reader reads the stream to its end to check the CRC-32s, and stops at 1 GiB.
    let zeros = gzip(&vec![0u8; 16 * MIB]);
    let image = [fits_header(8, &[4, 4]), vec![7; 2880]].concat();
    let mut bytes = gzip(&image);
    for _ in 0..64 {
        bytes.extend_from_slice(&zeros);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "bomb.fits.gz", &bytes);
    drop((zeros, bytes));
    let (outcome, peak) = peak_during(|| astrograd_data::fits::load(&path));
    assert!(
        matches!(outcome, Err(DataError::TooLarge { .. })),
        "{outcome:?}"
    );
    assert!(peak < MIB, "{peak} bytes held");
}
