//! # Streaming a DECals-sized file: how much memory, how fast
//!
//! `Galaxy10_DECals.h5` holds 17,736 images of 256×256×3 bytes: 3.5 GB of pixels, 14 GB as
//! float32. Loaded whole, as Keras users do, it does not fit on a laptop. This example checks
//! the promise of [`astrograd::data::hdf5_stream`]: streamed, the memory stays bounded
//! whatever the size of the file, and the reader keeps up with training.
//!
//! What it does, and what you will see:
//!
//! 1. **Files in the DECals layout**, one per `--sizes` entry (500, 1000 and 2000 images by
//!    default): `images` uint8 `(N, 256, 256, 3)`, gzip-compressed chunks of `--chunks`
//!    (default `555,16,16,1`, the chunks h5py chooses by itself for the real file's shape, the
//!    worst case for a reader: one image is spread over 768 chunks that each hold 555
//!    images), `ans` uint8 labels. The pixels are drawn galaxies (a soft blob on noise), so
//!    they compress about as well as real ones.
//! 2. **One epoch streamed from each**, resized to 128×128, shuffled (shuffle buffer
//!    `--buffer`), each in a fresh process, which then reports its peak resident memory
//!    (`VmHWM` of `/proc/self/status`) and the reader's rate in images per second.
//! 3. **The slope**: peak memory against the number of images, fitted by least squares, in
//!    MB per 1000 images. A loader that keeps the file in memory has a slope of 197 MB per
//!    1000 images as bytes, 786 as float32; a stream should have ~0.
//! 4. **Reader against training** (`--train-batches`, 0 to skip): a small CNN at 128×128
//!    trains on the stream; the images per second it consumes are printed beside the images
//!    per second the reader delivers.
//!
//! Run it with `cargo run --release --example stream_memory` (about 1 GB of disk in a
//! temporary folder, removed at the end; `-- --help` for the options). The numbers measured
//! on the course's machine are in `docs/streaming.md`.
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use astrograd::data::galaxy10;
use astrograd::data::hdf5_stream::StreamOptions;
use astrograd::layers::{Conv2D, Dense, FitOptions, Flatten, Input, MaxPooling2D, Sequential};
use astrograd::optim::Adam;
use astrograd::set_seed;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    about = "Peak memory and speed of a stream over DECals-layout HDF5 files of several sizes"
)]
struct Args {
    /// Images in each file written and streamed.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000")]
    sizes: Vec<usize>,
    /// Chunk shape of the images dataset, (images, rows, columns, channels).
    #[arg(long, value_delimiter = ',', default_value = "555,16,16,1")]
    chunks: Vec<u64>,
    /// Side of the stored images (256 in the real file).
    #[arg(long, default_value_t = 256)]
    side: usize,
    /// Side the stream resizes them to.
    #[arg(long, default_value_t = 128)]
    target: usize,
    /// Images of the shuffle buffer.
    #[arg(long, default_value_t = 1024)]
    buffer: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Batches of training on the largest file (0: no training).
    #[arg(long, default_value_t = 20)]
    train_batches: usize,
    /// Folder for the files (a temporary folder when not given; the files are deleted).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Internal: write one file of `--images` images to this path, then exit.
    #[arg(long, hide = true)]
    write: Option<PathBuf>,
    /// Internal: stream this file once (and train when `--train-batches` > 0), then report.
    #[arg(long, hide = true)]
    stream: Option<PathBuf>,
    /// Internal: the number of images `--write` writes.
    #[arg(long, hide = true, default_value_t = 0)]
    images: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if let Some(path) = &args.write {
        write_decals_layout(path, &args)
    } else if let Some(path) = &args.stream {
        stream_once(path, &args)
    } else {
        measure(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stream_memory: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The peak resident memory of this process so far, in MB (`VmHWM`, Linux).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Step 1, in a child process: a file in the layout of `Galaxy10_DECals.h5`.
fn write_decals_layout(path: &Path, args: &Args) -> Result<(), String> {
    let (n, side) = (args.images, args.side);
    let image = side * side * 3;
    // A cheap generator (xorshift) for the noise and the galaxies' places.
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ n as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // images: (N, S, S, 3), a Gaussian blob on a dark, noisy sky.
    let mut pixels = vec![0u8; n * image];
    for galaxy in pixels.chunks_mut(image) {
        let r = next();
        let (cy, cx) = ((r % side as u64) as f32, ((r >> 16) % side as u64) as f32);
        let width = 4.0 + ((r >> 32) % 24) as f32;
        let brightness = [150.0, 190.0, 230.0].map(|b| b * (0.5 + ((r >> 40) % 64) as f32 / 128.0));
        for (p, value) in galaxy.iter_mut().enumerate() {
            let (y, x, c) = (p / (side * 3), (p / 3) % side, p % 3);
            let d2 = (y as f32 - cy).powi(2) + (x as f32 - cx).powi(2);
            let noise = (next() % 12) as f32;
            *value = (brightness[c] * (-d2 / (2.0 * width * width)).exp() + 10.0 + noise) as u8;
        }
    }
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let chunks = [
        args.chunks[0].min(n as u64).max(1),
        args.chunks[1],
        args.chunks[2],
        args.chunks[3],
    ];
    let mut builder = hdf5_pure::FileBuilder::new();
    builder
        .create_dataset("images")
        .with_u8_data(&pixels)
        .with_shape(&[n as u64, side as u64, side as u64, 3])
        .with_chunks(&chunks)
        .with_deflate(4);
    builder
        .create_dataset("ans")
        .with_u8_data(&labels)
        .with_shape(&[n as u64]);
    builder
        .write(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Steps 2 and 4, in a child process: one epoch streamed, then (optionally) training; prints
/// one line `result images=… peak_rss_mb=… read_rate=… consume_rate=… train_rate=…`.
fn stream_once(path: &Path, args: &Args) -> Result<(), String> {
    let options = StreamOptions::default()
        .target_size(args.target, args.target)
        .batch_size(args.batch_size)
        .shuffle_buffer(args.buffer)
        .seed(42);
    let mut stream = galaxy10::stream_with(path, options.clone()).map_err(|e| e.to_string())?;
    let started = Instant::now();
    stream.on_epoch_start(0);
    for i in 0..stream.len() {
        stream.batch(i).map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = stream.stats();
    let n = stream.samples();
    let mut line = format!(
        "result images={} block={} most_held={} bound_mb={:.0} peak_rss_mb={:.1} \
         read_rate={:.0} consume_rate={:.0}",
        stream.samples(),
        stream.block_images(),
        stats.most_images_held,
        stream.memory_bound() as f64 / 1e6,
        peak_rss_mb(),
        stats.read_rate(),
        stream.samples() as f64 / seconds,
    );
    drop(stream);
    if args.train_batches > 0 {
        // A small CNN at 128×128, trained on the first `train_batches` batches of the file.
        let images = (args.train_batches * args.batch_size).min(n);
        let mut train =
            galaxy10::stream_with(path, options.range(0..images)).map_err(|e| e.to_string())?;
        set_seed(42);
        let t = args.target;
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[t, t, 3])),
            Box::new(Conv2D::new(8, 3).activation("relu")),
            Box::new(MaxPooling2D::new()),
            Box::new(Conv2D::new(16, 3).activation("relu")),
            Box::new(MaxPooling2D::new()),
            Box::new(Flatten::new()),
            Box::new(Dense::new(10).activation("softmax")),
        ])
        .map_err(|e| e.to_string())?;
        model
            .compile(
                "sparse_categorical_crossentropy",
                Adam::new(1e-3),
                &["accuracy"],
            )
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        model
            .fit_batches(&mut train, FitOptions::default().epochs(1).verbose(0))
            .map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        let stats = train.stats();
        line += &format!(
            " train_rate={:.1} train_read_rate={:.0} train_peak_rss_mb={:.1}",
            train.samples() as f64 / seconds,
            stats.read_rate(),
            peak_rss_mb()
        );
    }
    println!("{line}");
    Ok(())
}

/// Steps 1–3 in the parent: write, stream in a fresh process, fit the slope.
fn measure(args: &Args) -> Result<(), String> {
    if args.chunks.len() != 4 || args.sizes.is_empty() {
        return Err("--chunks takes 4 numbers and --sizes at least one".to_string());
    }
    let temp;
    let dir = match &args.output {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| e.to_string())?;
            temp.path().to_path_buf()
        }
    };
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let common = |cmd: &mut Command| {
        cmd.arg("--side")
            .arg(args.side.to_string())
            .arg("--target")
            .arg(args.target.to_string())
            .arg("--buffer")
            .arg(args.buffer.to_string())
            .arg("--batch-size")
            .arg(args.batch_size.to_string())
            .arg("--chunks")
            .arg(
                args.chunks
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
    };
    let largest = *args.sizes.iter().max().expect("sizes is not empty");
    println!(
        "DECals layout: uint8 ({{N}}, {s}, {s}, 3), gzip chunks {:?}; stream: {t}×{t}, shuffle \
         buffer {}, batches of {}\n",
        args.chunks,
        args.buffer,
        args.batch_size,
        s = args.side,
        t = args.target
    );
    println!("| images | file MB | pixels MB | peak RSS MB | images held | bound MB | read img/s | consumed img/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut points = Vec::new();
    let mut training = None;
    for &n in &args.sizes {
        let path = dir.join(format!("decals_layout_{n}.h5"));
        let mut write = Command::new(&me);
        write
            .arg("--write")
            .arg(&path)
            .arg("--images")
            .arg(n.to_string());
        common(&mut write);
        run(&mut write)?;
        let file_mb = std::fs::metadata(&path).map_err(|e| e.to_string())?.len() as f64 / 1e6;
        let mut stream = Command::new(&me);
        stream
            .arg("--stream")
            .arg(&path)
            .arg("--images")
            .arg(n.to_string());
        common(&mut stream);
        let train = if n == largest { args.train_batches } else { 0 };
        stream.arg("--train-batches").arg(train.to_string());
        let out = run(&mut stream)?;
        let field = |key: &str| -> f64 {
            out.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        println!(
            "| {n} | {file_mb:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            (n * args.side * args.side * 3) as f64 / 1e6,
            field("peak_rss_mb"),
            field("most_held"),
            field("bound_mb"),
            field("read_rate"),
            field("consume_rate"),
        );
        points.push((n as f64, field("peak_rss_mb")));
        if train > 0 {
            training = Some((
                field("train_rate"),
                field("train_read_rate"),
                field("train_peak_rss_mb"),
            ));
        }
        std::fs::remove_file(&path).map_err(|e| e.to_string())?;
    }
    // Least squares: peak = a + slope · n.
    let m = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / m, sy / m);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx * 1000.0 } else { 0.0 };
    let most = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    println!(
        "\nslope: {slope:.1} MB per 1000 images (whole file in memory: {:.0} as bytes, {:.0} as \
         float32); largest peak {most:.0} MB",
        (1000 * args.side * args.side * 3) as f64 / 1e6,
        (4000 * args.side * args.side * 3) as f64 / 1e6
    );
    if let Some((train_rate, read_rate, peak)) = training {
        println!(
            "training a small CNN at {t}×{t}: {train_rate:.1} images/s consumed; the reader \
             delivered {read_rate:.0} images/s of reading time; peak RSS {peak:.0} MB",
            t = args.target
        );
    }
    Ok(())
}

/// Runs a child, passing its error output through; its standard output on success.
fn run(cmd: &mut Command) -> Result<String, String> {
    let output = cmd.output().map_err(|e| e.to_string())?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("{cmd:?} failed ({})", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
