//! How fast `flow_from_directory` feeds `fit`: images per second for decode + augment alone,
//! and for whole epochs over 2000 JPEGs of 150×150 (the cats-vs-dogs setting of the course).
//!
//! The JPEGs are generated into a temporary folder first (nothing is written to the repo):
//!
//! ```sh
//! cargo run --release -p astrograd-data --example image_generator_throughput [n_images]
//! ```
use std::time::Instant;

use astrograd_data::image_generator::{
    load_image, ClassMode, ColorMode, DirectoryOptions, ImageDataGenerator, Interpolation,
    ShiftRange,
};
use astrograd_tensor::random::Rng;
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    for class in ["cats", "dogs"] {
        std::fs::create_dir_all(dir.path().join(class))?;
    }
    let start = Instant::now();
    (0..n)
        .into_par_iter()
        .try_for_each(|i| -> Result<(), String> {
            let mut rng = Rng::new(i as u64);
            let (a, b) = (rng.below(255) as u32, rng.below(255) as u32);
            let img = image::RgbImage::from_fn(150, 150, |x, y| {
                let noise = rng.below(40) as u32;
                image::Rgb([
                    ((x * a / 150 + noise) % 256) as u8,
                    ((y * b / 150 + noise) % 256) as u8,
                    ((x + y + noise) % 256) as u8,
                ])
            });
            let class = if i % 2 == 0 { "cats" } else { "dogs" };
            img.save_with_format(
                dir.path().join(class).join(format!("{class}.{i}.jpg")),
                image::ImageFormat::Jpeg,
            )
            .map_err(|e| e.to_string())
        })?;
    println!(
        "wrote {n} JPEGs of 150×150 in {:.2} s; rayon threads: {}",
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );

    // The course's augmentation (cats vs dogs notebook).
    let datagen = ImageDataGenerator::default()
        .rescale(1.0 / 255.0)
        .rotation_range(40.0)
        .width_shift_range(ShiftRange::Float(0.2))
        .height_shift_range(ShiftRange::Float(0.2))
        .shear_range(0.2)
        .zoom_range(0.2)
        .horizontal_flip(true);
    let paths: Vec<_> = walk(dir.path());

    // 1. decode + augment alone, one thread and all threads.
    let one = |p: &std::path::PathBuf, seed: u64| -> Result<f32, String> {
        let image = load_image(p, ColorMode::Rgb, (150, 150), Interpolation::Nearest)
            .map_err(|e| e.to_string())?;
        let mut out = datagen
            .random_transform(&image, &mut Rng::new(seed))
            .map_err(|e| e.to_string())?;
        datagen.standardize(&mut out).map_err(|e| e.to_string())?;
        Ok(out.data[0])
    };
    let decode_only = |p: &std::path::PathBuf| {
        load_image(p, ColorMode::Rgb, (150, 150), Interpolation::Nearest)
            .map(|i| i.data[0])
            .map_err(|e| e.to_string())
    };
    let t = Instant::now();
    let k = paths.len().min(400);
    for p in &paths[..k] {
        decode_only(p)?;
    }
    println!(
        "decode only, 1 thread:        {:8.0} images/s",
        k as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for (i, p) in paths[..k].iter().enumerate() {
        one(p, i as u64)?;
    }
    println!(
        "decode + augment, 1 thread:   {:8.0} images/s",
        k as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    paths
        .par_iter()
        .enumerate()
        .try_for_each(|(i, p)| one(p, i as u64).map(|_| ()))?;
    println!(
        "decode + augment, all threads:{:8.0} images/s",
        paths.len() as f64 / t.elapsed().as_secs_f64()
    );

    // 2. whole epochs through the iterator, with and without the prefetch thread.
    for prefetch in [0, 4] {
        let opts = DirectoryOptions::default()
            .target_size(150, 150)
            .batch_size(20)
            .class_mode(ClassMode::Binary)
            .seed(1)
            .prefetch(prefetch);
        let mut it = datagen.flow_from_directory(dir.path(), opts)?;
        for epoch in 0..2 {
            let t = Instant::now();
            it.on_epoch_start(epoch);
            let mut images = 0;
            for i in 0..it.len() {
                images += it.batch(i)?.0.shape()[0];
            }
            println!(
                "epoch {epoch}, prefetch {prefetch}: {images} images, {:8.0} images/s ({:.2} s)",
                images as f64 / t.elapsed().as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for class in ["cats", "dogs"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(class))
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}
