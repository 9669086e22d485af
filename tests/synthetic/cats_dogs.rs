//! A small stand-in for the cats-vs-dogs archive, drawn by the tests: the same layout
//! (`cats_and_dogs_filtered/{train,validation}/{cats,dogs}/{cat,dog}.N.jpg`), real JPEG files of
//! various sizes, and classes a small network can tell apart: a cat is a bright disk, a dog a
//! dark square, each on a noisy mid-grey background of its own size. The real archive cannot be
//! downloaded in CI.
#![allow(dead_code)] // each test file uses a different part of this module

use std::path::{Path, PathBuf};

use astrograd::data::cats_and_dogs;
use astrograd::tensor::random::Rng;

/// How many pictures of each class go in each folder, and how they are drawn.
pub struct Spec {
    pub train_per_class: usize,
    pub validation_per_class: usize,
    /// Sides are drawn from `min_side..=max_side`, independently, like the real photos'.
    pub min_side: u32,
    pub max_side: u32,
    pub seed: u64,
}

/// A uniform integer in `low..=high`.
fn between(rng: &mut Rng, low: u32, high: u32) -> u32 {
    low + rng.below((high - low + 1) as usize) as u32
}

/// One picture: a noisy mid-grey background with a bright disk (a "cat") or a dark square (a
/// "dog") of random size and place, in a random tint.
pub fn draw(rng: &mut Rng, cat: bool, width: u32, height: u32) -> image::RgbImage {
    let side = width.min(height) as f32;
    let size = side * (0.35 + 0.3 * rng.uniform()); // disk diameter or square side
    let cx = size / 2.0 + rng.uniform() * (width as f32 - size);
    let cy = size / 2.0 + rng.uniform() * (height as f32 - size);
    let tint = [rng.uniform(), rng.uniform(), rng.uniform()];
    let mut img = image::RgbImage::new(width, height);
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let inside = if cat {
            dx * dx + dy * dy <= size * size / 4.0
        } else {
            dx.abs() <= size / 2.0 && dy.abs() <= size / 2.0
        };
        let base = if !inside {
            110.0 + 30.0 * rng.uniform()
        } else if cat {
            215.0
        } else {
            25.0
        };
        for (k, channel) in pixel.0.iter_mut().enumerate() {
            let v = base + 25.0 * (tint[k] - 0.5) + 10.0 * (rng.uniform() - 0.5);
            *channel = v.clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// Writes `root/cats_and_dogs_filtered/{train,validation}/{cats,dogs}/{cat,dog}.N.jpg` (the
/// real archive's names) and returns the `cats_and_dogs_filtered` folder.
pub fn write_cats_and_dogs(root: &Path, spec: &Spec) -> PathBuf {
    let base = root.join(cats_and_dogs::FOLDER);
    let mut rng = Rng::new(spec.seed);
    for (split, per_class) in [
        ("train", spec.train_per_class),
        ("validation", spec.validation_per_class),
    ] {
        for (folder, prefix, cat) in [("cats", "cat", true), ("dogs", "dog", false)] {
            let dir = base.join(split).join(folder);
            std::fs::create_dir_all(&dir).expect("create the class folder");
            for i in 0..per_class {
                let width = between(&mut rng, spec.min_side, spec.max_side);
                let height = between(&mut rng, spec.min_side, spec.max_side);
                let path = dir.join(format!("{prefix}.{i}.jpg"));
                draw(&mut rng, cat, width, height)
                    .save_with_format(&path, image::ImageFormat::Jpeg)
                    .expect("write a JPEG");
            }
        }
    }
    base
}
