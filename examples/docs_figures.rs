//! # The tutorials' figures, drawn by the code they describe
//!
//! Every picture in `docs/images/figure_*.png` is computed here with astrograd's own functions,
//! so that a figure cannot drift away from the code: change a kernel and the figure changes
//! with it. Each is seeded, so two runs write the same bytes.
//!
//! | file | what it shows | computed with |
//! |---|---|---|
//! | `figure_im2col.png` | a 4×4 image, its im2col matrix for a 3×3 window, and col2im of ones (how many windows read each pixel) | `kernels::cpu::conv::{im2col_matrix, col2im_matrix}` |
//! | `figure_max_pool_gradient.png` | `x`, `y = max_pool2d(x)`, the upstream `dy` and the `dx` that backward routes to each window's winner | `Var::max_pool2d`, then `backward()` |
//! | `figure_dropout_masks.png` | the masks of three training steps at rate 0.5 (kept values doubled) and the identity at inference | `Var::dropout` |
//! | `figure_augmentation.png` | one synthetic barred galaxy and nine random variants with Session 3's settings | `ImageDataGenerator::random_transform` |
//! | `figure_lr_schedules.png` | the learning rate of each schedule over 1,000 steps | `optim::schedules` |
//! | `figure_optimizer_trajectories.png` | SGD, SGD + momentum and Adam minimising an elongated 2-D quadratic | `SGD`, `Adam` stepping a 2-parameter `Var` |
//!
//! Run it with `cargo run --release --example docs_figures -- --output docs/images` (the
//! default folder); it takes well under a second.
use std::error::Error;
use std::path::{Path, PathBuf};

use astrograd::data::image_generator::{Image, ImageDataGenerator, ShiftRange};
use astrograd::kernels::cpu::conv::{col2im_matrix, im2col_matrix, Conv2dGeometry, Padding};
use astrograd::ops::max_pool2d::Pool2dOptions;
use astrograd::optim::{
    Adam, CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule, Optimizer,
    PiecewiseConstantDecay, PolynomialDecay, SGD,
};
use astrograd::tensor::random::Rng;
use astrograd::viz::{self, Line, LinePlotOptions, Matrix};
use astrograd::{Tensor, Var};
use clap::Parser;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

/// Draws the tutorials' figures (im2col, max-pool gradient, dropout masks, augmentation,
/// learning-rate schedules, optimizer trajectories) with astrograd's own code.
#[derive(Parser)]
struct Args {
    /// Where the PNG files are written.
    #[arg(long, default_value = "docs/images")]
    output: PathBuf,
}

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// A function that computes one figure and writes it to the path given.
type Draw = fn(&Path) -> Result<()>;

fn main() -> Result<()> {
    let args = Args::parse();
    viz::ensure_writable_dir(&args.output)?;
    let figures: [(&str, Draw); 6] = [
        ("figure_im2col.png", im2col),
        ("figure_max_pool_gradient.png", max_pool_gradient),
        ("figure_dropout_masks.png", dropout_masks),
        ("figure_augmentation.png", augmentation),
        ("figure_lr_schedules.png", lr_schedules),
        ("figure_optimizer_trajectories.png", optimizer_trajectories),
    ];
    println!("Writing into {}:", args.output.display());
    for (name, draw) in figures {
        draw(&args.output.join(name))?;
        println!("  {name}");
    }
    Ok(())
}

/// The tutorial's 4×4 image of 1…16 and a 3×3 window, stride 1, `'valid'`: four output
/// pixels, so `cols` has 4 rows of 9. Pixel 6 is in every row, pixel 1 in one; col2im of ones
/// counts that overlap, which is what the backward adds up.
fn im2col(path: &Path) -> Result<()> {
    let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [1, 1], [1, 1], Padding::Valid)?;
    // x: (1, 4, 4, 1)
    let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    // cols: (N·OH·OW, KH·KW·C) = (4, 9)
    let cols = im2col_matrix(&g, &x);
    // windows: (1, 4, 4, 1), col2im of a (4, 9) matrix of ones
    let windows = col2im_matrix(&g, &vec![1.0; cols.len()]);
    let panels = [
        Matrix::new("x (4 × 4)", 4, 4, x),
        Matrix::new("cols = im2col(x): one row per 3×3 window", 4, 9, cols),
        Matrix::new("col2im(ones): windows per pixel", 4, 4, windows),
    ];
    viz::matrices(&panels, "Convolution as im2col + GEMM", path)?;
    Ok(())
}

/// The tutorial's 4×4 input, 2×2 windows with stride 2; `dy` is the upstream gradient
/// (`loss = Σ dy·y`), and `dx` is what the real backward of `max_pool2d` returns.
fn max_pool_gradient(path: &Path) -> Result<()> {
    #[rustfmt::skip]
    let x_values = vec![
        1.0, 3.0, 2.0, 0.0,
        4.0, 2.0, 1.0, 5.0,
        0.0, 1.0, 3.0, 3.0,
        2.0, 6.0, 1.0, 2.0,
    ];
    let x = Var::parameter(Tensor::from_vec(x_values.clone(), &[1, 4, 4, 1])?);
    let y = x.max_pool2d(Pool2dOptions::default())?;
    let dy_values = vec![0.1, 0.2, 0.3, 0.4];
    let dy = Var::constant(Tensor::from_vec(dy_values.clone(), &[1, 2, 2, 1])?);
    // d(Σ dy·y)/dy = dy: the upstream gradient the pooling receives.
    y.mul(&dy)?.sum_all()?.backward()?;
    let dx = x.grad().ok_or("x got no gradient")?.to_vec()?;
    let panels = [
        Matrix::new("x", 4, 4, x_values),
        Matrix::new("y = max_pool2d(x)", 2, 2, y.value().to_vec()?),
        Matrix::new("dy (upstream)", 2, 2, dy_values),
        Matrix::new("dx: dy routed to each winner", 4, 4, dx),
    ];
    viz::matrices(
        &panels,
        "Max pooling: the gradient is routed, not spread",
        path,
    )?;
    Ok(())
}

/// Dropout at rate 0.5 applied to a matrix of ones shows its mask: each training step draws a
/// new one (values dropped to 0, the others scaled to 1/(1 − 0.5) = 2); at inference it is the
/// identity.
fn dropout_masks(path: &Path) -> Result<()> {
    let ones = Var::constant(Tensor::ones(&[8, 8]));
    let mut rng = Rng::new(42);
    let mut panels = Vec::new();
    for step in 1..=3 {
        let out = ones.dropout(0.5, true, &mut rng)?;
        panels.push(Matrix::new(
            &format!("training, step {step}"),
            8,
            8,
            out.value().to_vec()?,
        ));
    }
    let inference = ones.dropout(0.5, false, &mut rng)?;
    panels.push(Matrix::new("inference", 8, 8, inference.value().to_vec()?));
    viz::matrices(&panels, "Dropout(0.5) applied to ones", path)?;
    Ok(())
}

/// A synthetic barred spiral galaxy, 64×64 RGB in 0–255: a yellow bulge, a bluer bar tilted
/// by 30°, and a small companion up and to the right, so that rotations and flips show.
fn synthetic_galaxy() -> Result<Image> {
    const SIDE: usize = 64;
    let (cos, sin) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
    let mut data = Vec::with_capacity(SIDE * SIDE * 3);
    for row in 0..SIDE {
        for col in 0..SIDE {
            let (dx, dy) = (col as f32 - 31.5, row as f32 - 31.5);
            let bulge = (-(dx * dx + dy * dy) / (2.0 * 4.0 * 4.0)).exp();
            let (along, across) = (dx * cos - dy * sin, dx * sin + dy * cos);
            let bar = (-(along * along) / (2.0 * 14.0 * 14.0) - (across * across) / 8.0).exp();
            let (cx, cy) = (col as f32 - 48.0, row as f32 - 14.0);
            let companion = (-(cx * cx + cy * cy) / (2.0 * 2.5 * 2.5)).exp();
            let rgb = [
                255.0 * bulge + 150.0 * bar + 120.0 * companion,
                225.0 * bulge + 170.0 * bar + 170.0 * companion,
                160.0 * bulge + 230.0 * bar + 255.0 * companion,
            ];
            data.extend(rgb.map(|v| v.min(255.0)));
        }
    }
    Ok(Image::new(SIDE, SIDE, 3, data)?)
}

/// Session 3's augmentation (the cats-vs-dogs generator: rotation 40°, shifts 0.2, shear 0.2,
/// zoom 0.2, horizontal flips) applied nine times to one image, with a seeded generator.
fn augmentation(path: &Path) -> Result<()> {
    let image = synthetic_galaxy()?;
    let generator = ImageDataGenerator::default()
        .rotation_range(40.0)
        .width_shift_range(ShiftRange::Float(0.2))
        .height_shift_range(ShiftRange::Float(0.2))
        .shear_range(0.2)
        .zoom_range(0.2)
        .horizontal_flip(true);
    let mut rng = Rng::new(42);
    let mut variants = Vec::with_capacity(9 * image.data.len());
    for _ in 0..9 {
        variants.extend(generator.random_transform(&image, &mut rng)?.data);
    }
    let [h, w, c] = image.shape();
    let original = Tensor::from_vec(image.data, &[h, w, c])?;
    let variants = Tensor::from_vec(variants, &[9, h, w, c])?;
    viz::augmented_grid(&original, &variants, path)?;
    Ok(())
}

/// Each schedule of `optim::schedules`, starting from (or rising to) 0.1, over 1,000 steps.
fn lr_schedules(path: &Path) -> Result<()> {
    let schedules: Vec<(&str, Box<dyn LearningRateSchedule>)> = vec![
        (
            "ExponentialDecay(0.1, 200, 0.5)",
            Box::new(ExponentialDecay::new(0.1, 200, 0.5)?),
        ),
        (
            "… staircase",
            Box::new(ExponentialDecay::new(0.1, 200, 0.5)?.staircase(true)),
        ),
        (
            "InverseTimeDecay(0.1, 100, 0.5)",
            Box::new(InverseTimeDecay::new(0.1, 100, 0.5)?),
        ),
        (
            "PiecewiseConstantDecay([300, 600], [0.1, 0.05, 0.01])",
            Box::new(PiecewiseConstantDecay::new(
                vec![300, 600],
                vec![0.1, 0.05, 0.01],
            )?),
        ),
        (
            "CosineDecay(0, 900), warm-up to 0.1 in 100",
            Box::new(CosineDecay::new(0.0, 900)?.warmup(0.1, 100)),
        ),
        (
            "PolynomialDecay(0.1, 1000), power 2",
            Box::new(
                PolynomialDecay::new(0.1, 1000)?
                    .end_learning_rate(0.001)
                    .power(2.0),
            ),
        ),
    ];
    let steps: Vec<u64> = (0..=1000).collect();
    let x: Vec<f32> = steps.iter().map(|&s| s as f32).collect();
    let lines: Vec<Line> = schedules
        .iter()
        .map(|(label, schedule)| Line {
            label: label.to_string(),
            x: x.clone(),
            y: steps.iter().map(|&s| schedule.lr(s)).collect(),
        })
        .collect();
    let options = LinePlotOptions {
        title: "Learning-rate schedules".into(),
        x_label: "step".into(),
        y_label: "learning rate".into(),
        width: 820,
        height: 480,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}

/// `loss(a, b) = ½·(a² + 20·b²)`: a valley 20 times steeper across (b) than along (a).
const CURVATURE: [f32; 2] = [1.0, 20.0];
/// Where every optimizer starts.
const START: [f32; 2] = [-4.5, 1.0];
/// Updates per optimizer.
const STEPS: usize = 60;

/// The points an optimizer visits from [`START`], one per update, with the real `backward()`
/// giving the gradient and `apply_gradients` the step.
fn trajectory(optimizer: &mut dyn Optimizer) -> Result<Vec<[f32; 2]>> {
    let p = Var::parameter(Tensor::from_vec(START.to_vec(), &[2])?);
    let curvature = Var::constant(Tensor::from_vec(CURVATURE.to_vec(), &[2])?);
    let mut points = vec![START];
    for _ in 0..STEPS {
        p.zero_grad();
        let loss = p.mul(&p)?.mul(&curvature)?.sum_all()?.mul_scalar(0.5)?;
        loss.backward()?;
        optimizer.apply_gradients(std::slice::from_ref(&p))?;
        let v = p.value().to_vec()?;
        points.push([v[0], v[1]]);
    }
    Ok(points)
}

/// SGD zig-zags across the steep direction and crawls along the flat one; momentum builds up
/// speed along the valley; Adam divides each coordinate's step by its own gradient scale, so
/// it heads for the minimum diagonally at first.
fn optimizer_trajectories(path: &Path) -> Result<()> {
    let runs: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("SGD, lr 0.09", Box::new(SGD::new(0.09))),
        (
            "SGD + momentum 0.9, lr 0.01",
            Box::new(SGD::new(0.01).momentum(0.9)),
        ),
        ("Adam, lr 0.2", Box::new(Adam::new(0.2))),
    ];
    let mut lines = Vec::new();
    for (label, mut optimizer) in runs {
        let points = trajectory(optimizer.as_mut())?;
        lines.push(Line {
            label: label.to_string(),
            x: points.iter().map(|p| p[0]).collect(),
            y: points.iter().map(|p| p[1]).collect(),
        });
    }
    let options = LinePlotOptions {
        title: format!(
            "{STEPS} steps on the valley ½(a² + 20·b²), from (−4.5, 1) to the minimum (0, 0)"
        ),
        x_label: "a".into(),
        y_label: "b".into(),
        width: 820,
        height: 480,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}
