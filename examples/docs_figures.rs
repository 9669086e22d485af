//! # The tutorials' figures, drawn by the code they describe
//!
//! Every picture in `docs/images/figure_*.png` is computed here with astrograd's own functions,
//! so that a figure cannot drift away from the code: change a kernel and the figure changes
//! with it. Each is seeded, so two runs write the same bytes.
//!
//! | file | what it shows | computed with |
//! |---|---|---|
//! | `figure_backprop.png` | tutorial 1's 2×3 layer: `x`, `W`, `z`, the given `dh`, then `dz`, `dW`, `db` and `dx` | `Var::matmul`, `add`, `relu`, then `backward()` |
//! | `figure_softmax_cross_entropy.png` | the loss and two of its gradients as the true class's logit moves | `Var::sparse_categorical_crossentropy` (from logits), then `backward()` |
//! | `figure_activation_derivatives.png` | `f'(x)` of six activations on [−4, 4] | each activation's `backward()` |
//! | `figure_initialisation.png` | the spread of the activations through 10 ReLU layers, for three initialisations | `Initializer::sample_with`, `matmul`, `relu` |
//! | `figure_im2col.png` | a 4×4 image, its im2col matrix for a 3×3 window, and col2im of ones (how many windows read each pixel) | `kernels::cpu::conv::{im2col_matrix, col2im_matrix}` |
//! | `figure_same_padding.png` | Keras's uneven `'same'` at stride 2: the padded 4×4 image, its im2col matrix and the convolution with a kernel of ones | `Conv2dGeometry`, `im2col_matrix`, `Var::conv2d` |
//! | `figure_max_pool_gradient.png` | `x`, `y = max_pool2d(x)`, the upstream `dy` and the `dx` that backward routes to each window's winner | `Var::max_pool2d`, then `backward()` |
//! | `figure_dropout_masks.png` | the masks of three training steps at rate 0.5 (kept values doubled) and the identity at inference | `Var::dropout` |
//! | `figure_batch_norm_moving_statistics.png` | a BatchNormalization layer's moving mean and variance over 600 training steps | `Var::batch_norm` in training mode |
//! | `figure_augmentation.png` | one synthetic barred galaxy and nine random variants with Session 3's settings | `ImageDataGenerator::random_transform` |
//! | `figure_lr_schedules.png` | the learning rate of each schedule over 1,000 steps | `optim::schedules` |
//! | `figure_optimizer_trajectories.png` | SGD, SGD + momentum and Adam minimising an elongated 2-D quadratic | `SGD`, `Adam` stepping a 2-parameter `Var` |
//! | `figure_early_stopping.png` | an MLP overfitting 64 noisy points: training against validation loss and accuracy, and the epoch early stopping keeps | `Sequential::fit` with `EarlyStopping` |
//! | `figure_transfer_frozen.png` | VGG16 + the new head while fine-tuning: each layer's parameters, frozen or trainable | `applications::vgg16` (random weights), `set_trainable` |
//!
//! Run it with `cargo run --release --example docs_figures -- --output docs/images` (the
//! default folder); it takes about a second on two cores, most of it the two training runs of
//! `figure_early_stopping.png`.
use std::error::Error;
use std::path::{Path, PathBuf};

use astrograd::data::image_generator::{Image, ImageDataGenerator, ShiftRange};
use astrograd::kernels::cpu::conv::{col2im_matrix, im2col_matrix};
use astrograd::kernels::geometry::{Conv2dGeometry, Padding};
use astrograd::layers::applications::{vgg16, Options, Weights};
use astrograd::layers::{
    ActivationFn, Dense, Dropout, EarlyStopping, FitOptions, Flatten, History, Initializer, Input,
    Sequential,
};
use astrograd::ops::batch_norm::{BatchNormOptions, BatchNormState};
use astrograd::ops::conv2d::Conv2dOptions;
use astrograd::ops::max_pool2d::Pool2dOptions;
use astrograd::optim::{
    Adam, CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule, Optimizer,
    PiecewiseConstantDecay, PolynomialDecay, SGD,
};
use astrograd::tensor::random::Rng;
use astrograd::viz::{self, EpochMarker, HistoryPlotOptions, Line, LinePlotOptions, Matrix};
use astrograd::{set_seed, Tensor, Var};
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
    let figures: [(&str, Draw); 14] = [
        ("figure_backprop.png", backprop),
        ("figure_im2col.png", im2col),
        ("figure_softmax_cross_entropy.png", softmax_cross_entropy),
        ("figure_activation_derivatives.png", activation_derivatives),
        ("figure_initialisation.png", initialisation),
        ("figure_same_padding.png", same_padding),
        ("figure_max_pool_gradient.png", max_pool_gradient),
        ("figure_dropout_masks.png", dropout_masks),
        (
            "figure_batch_norm_moving_statistics.png",
            batch_norm_moving_statistics,
        ),
        ("figure_augmentation.png", augmentation),
        ("figure_lr_schedules.png", lr_schedules),
        ("figure_optimizer_trajectories.png", optimizer_trajectories),
        ("figure_early_stopping.png", early_stopping),
        ("figure_transfer_frozen.png", transfer_frozen),
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

/// Tutorial 1's layer: 2 inputs, 3 units, a batch of 2, then ReLU. The forward is
/// `h = relu(x·W + b)`; the layers above are stood in for by `loss = Σ dh·h`, whose gradient
/// with respect to `h` is the given `dh`. Two backward passes: one from a leaf holding `z`
/// (so that `dz`, which the engine does not keep for an inner node, can be shown), one through
/// the whole layer for `dW`, `db` and `dx`.
fn backprop(path: &Path) -> Result<()> {
    let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0], &[2, 2])?);
    let w = Var::parameter(Tensor::from_vec(
        vec![0.5, -1.0, 2.0, 1.0, 0.0, -0.5],
        &[2, 3],
    )?);
    let b = Var::parameter(Tensor::from_vec(vec![0.0, 0.5, 0.0], &[3])?);
    let dh_values = vec![1.0, 2.0, -1.0, 0.5, 1.0, 1.0];
    let dh = Var::constant(Tensor::from_vec(dh_values.clone(), &[2, 3])?);
    // z: (N, 3) = (2, 3)
    let z = x.matmul(&w)?.add(&b)?;
    z.relu()?.mul(&dh)?.sum_all()?.backward()?;
    let z_leaf = Var::parameter(z.value());
    z_leaf.relu()?.mul(&dh)?.sum_all()?.backward()?;
    let grad = |v: &Var, name: &str| -> Result<Vec<f32>> {
        Ok(v.grad()
            .ok_or(format!("{name} got no gradient"))?
            .to_vec()?)
    };
    let panels = [
        Matrix::new("x", 2, 2, x.value().to_vec()?),
        Matrix::new("W", 2, 3, w.value().to_vec()?),
        Matrix::new("z = x·W + b", 2, 3, z.value().to_vec()?),
        Matrix::new("dh (given)", 2, 3, dh_values),
        Matrix::new("dz = dh ⊙ [z > 0]", 2, 3, grad(&z_leaf, "z")?),
        Matrix::new("dW = xᵀ·dz", 2, 3, grad(&w, "W")?),
        Matrix::new("db = Σₙ dz", 1, 3, grad(&b, "b")?),
        Matrix::new("dx = dz·Wᵀ", 2, 2, grad(&x, "x")?),
    ];
    viz::matrices(
        &panels,
        "One Dense layer with ReLU, forward then backward",
        path,
    )?;
    Ok(())
}

/// Three classes, logits `[z₀, 1, 0]`, true class 0, with `z₀` from −4 to 6: the loss
/// `−log p₀` and its gradients with respect to `z₀` (`p₀ − 1`) and `z₁` (`p₁`), from the real
/// fused op and its backward. One row per value of `z₀`, so one `backward()` gives them all.
fn softmax_cross_entropy(path: &Path) -> Result<()> {
    let z0: Vec<f32> = (0..=100).map(|i| -4.0 + 0.1 * i as f32).collect();
    let rows = z0.len();
    // logits: (rows, 3)
    let logits: Vec<f32> = z0.iter().flat_map(|&z| [z, 1.0, 0.0]).collect();
    let logits = Var::parameter(Tensor::from_vec(logits, &[rows, 3])?);
    let labels = Tensor::zeros(&[rows]);
    // loss: (rows,), one sample's loss per row
    let loss = logits.sparse_categorical_crossentropy(&labels, true)?;
    loss.sum_all()?.backward()?;
    let dz = logits
        .grad()
        .ok_or("the logits got no gradient")?
        .to_vec()?;
    let lines = [
        Line {
            label: "loss −log p₀".into(),
            x: z0.clone(),
            y: loss.value().to_vec()?,
        },
        Line {
            label: "∂L/∂z₀ = p₀ − 1".into(),
            x: z0.clone(),
            y: dz.chunks(3).map(|row| row[0]).collect(),
        },
        Line {
            label: "∂L/∂z₁ = p₁".into(),
            x: z0,
            y: dz.chunks(3).map(|row| row[1]).collect(),
        },
    ];
    let options = LinePlotOptions {
        title: "Cross-entropy from logits [z₀, 1, 0], true class 0".into(),
        x_label: "z₀, the true class's logit".into(),
        y_label: "".into(),
        width: 720,
        height: 420,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}

/// `f'(x)` on [−4, 4] for six activations, each from its own backward: `backward()` of
/// `Σ f(x)` gives `f'(x)` at every point.
fn activation_derivatives(path: &Path) -> Result<()> {
    let xs: Vec<f32> = (0..=160).map(|i| -4.0 + 0.05 * i as f32).collect();
    let curves = [
        ("ReLU", "relu"),
        ("leaky ReLU (α = 0.2)", "leaky_relu"),
        ("ELU (α = 1)", "elu"),
        ("sigmoid", "sigmoid"),
        ("tanh", "tanh"),
        ("swish", "swish"),
    ];
    let mut lines = Vec::new();
    for (label, name) in curves {
        let x = Var::parameter(Tensor::from_vec(xs.clone(), &[xs.len()])?);
        ActivationFn::from_name(name)?
            .apply(&x)?
            .sum_all()?
            .backward()?;
        lines.push(Line {
            label: format!("{label}'"),
            x: xs.clone(),
            y: x.grad().ok_or("x got no gradient")?.to_vec()?,
        });
    }
    let options = LinePlotOptions {
        title: "The derivatives f'(x) that the backward passes multiply by".into(),
        x_label: "x".into(),
        y_label: "f'(x)".into(),
        width: 720,
        height: 440,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}

/// 512 random inputs of 256 features through 10 layers `h ← relu(h·W)` of 256 units (biases
/// 0), with `W` drawn by Glorot uniform, He normal, or a normal of standard deviation 0.01:
/// the standard deviation of the activations after each layer.
fn initialisation(path: &Path) -> Result<()> {
    const WIDTH: usize = 256;
    const DEPTH: usize = 10;
    const SAMPLES: usize = 512;
    let mut rng = Rng::new(42);
    let x: Vec<f32> = (0..SAMPLES * WIDTH).map(|_| rng.normal()).collect();
    let x = Tensor::from_vec(x, &[SAMPLES, WIDTH])?;
    let std = |t: &Tensor| -> Result<f32> {
        let v = t.to_vec()?;
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        Ok((v.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt())
    };
    let runs = [
        (
            "glorot_uniform (Keras's default)",
            Initializer::GlorotUniform,
        ),
        ("he_normal", Initializer::HeNormal),
        (
            "random_normal, stddev 0.01",
            Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.01,
            },
        ),
    ];
    let mut lines = Vec::new();
    for (label, initializer) in runs {
        let mut rng = Rng::new(7);
        // h: (SAMPLES, WIDTH)
        let mut h = Var::constant(x.clone());
        let mut spread = vec![std(&x)?];
        for _ in 0..DEPTH {
            let w = Var::constant(initializer.sample_with(&mut rng, &[WIDTH, WIDTH]));
            h = h.matmul(&w)?.relu()?;
            spread.push(std(&h.value())?);
        }
        lines.push(Line {
            label: label.to_string(),
            x: (0..=DEPTH).map(|l| l as f32).collect(),
            y: spread,
        });
    }
    let options = LinePlotOptions {
        title: format!("{DEPTH} layers relu(h·W) of {WIDTH} units: the spread of the activations"),
        x_label: "layer (0: the input)".into(),
        y_label: "standard deviation of h".into(),
        width: 720,
        height: 440,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}

/// Tutorial 7's example: a 4×4 image of 1…16, a 3×3 kernel, stride 2, `'same'`. The geometry
/// puts Keras's odd total padding (1) at the bottom and on the right; the image is drawn at
/// its padded place, then the im2col matrix (a zero wherever a window reads the padding) and
/// the output of the real `conv2d` with a kernel of ones.
fn same_padding(path: &Path) -> Result<()> {
    let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [2, 2], [1, 1], Padding::Same)?;
    let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    // padded: (pad_top + 4 + pad_bottom, pad_left + 4 + pad_right), zeros around x
    let rows = (g.oh - 1) * g.stride_h + g.kh;
    let cols = (g.ow - 1) * g.stride_w + g.kw;
    let mut padded = vec![0.0; rows * cols];
    for r in 0..4 {
        for c in 0..4 {
            padded[(r + g.pad_top) * cols + c + g.pad_left] = x[r * 4 + c];
        }
    }
    // windows: (N·OH·OW, KH·KW·C) = (4, 9)
    let windows = im2col_matrix(&g, &x);
    let image = Var::constant(Tensor::from_vec(x, &[1, 4, 4, 1])?);
    let ones = Var::constant(Tensor::ones(&[3, 3, 1, 1]));
    let options = Conv2dOptions {
        strides: [2, 2],
        padding: Padding::Same,
        ..Default::default()
    };
    let y = image.conv2d(&ones, None, options)?;
    let panels = [
        Matrix::new(
            &format!(
                "x padded: top {}, left {}, bottom and right 1",
                g.pad_top, g.pad_left
            ),
            rows,
            cols,
            padded,
        ),
        Matrix::new("im2col: one row per 3×3 window", g.oh * g.ow, 9, windows),
        Matrix::new("y = conv2d(x, ones)", g.oh, g.ow, y.value().to_vec()?),
    ];
    viz::matrices(&panels, "'same' with stride 2, as Keras pads", path)?;
    Ok(())
}

/// One channel of a `BatchNormalization` layer in training mode, fed 600 batches of 32 values
/// drawn from a normal of mean 3 and standard deviation 2: its moving mean (from 0) and moving
/// variance (from 1), updated with momentum 0.99, approach 3 and 4 over a few hundred steps.
fn batch_norm_moving_statistics(path: &Path) -> Result<()> {
    const STEPS: usize = 600;
    const BATCH: usize = 32;
    let mut rng = Rng::new(42);
    let mut state = BatchNormState::new(1);
    let (gamma, beta) = (
        Var::parameter(Tensor::ones(&[1])),
        Var::parameter(Tensor::zeros(&[1])),
    );
    let options = BatchNormOptions {
        training: true,
        ..Default::default()
    };
    let (mut means, mut variances) = (vec![0.0], vec![1.0]);
    for _ in 0..STEPS {
        let batch: Vec<f32> = (0..BATCH).map(|_| 3.0 + 2.0 * rng.normal()).collect();
        // x: (N, C) = (32, 1)
        let x = Var::constant(Tensor::from_vec(batch, &[BATCH, 1])?);
        x.batch_norm(&gamma, &beta, &mut state, options)?;
        means.push(state.moving_mean.to_vec()?[0]);
        variances.push(state.moving_variance.to_vec()?[0]);
    }
    let steps: Vec<f32> = (0..=STEPS).map(|s| s as f32).collect();
    let lines = [
        Line {
            label: "moving_mean".into(),
            x: steps.clone(),
            y: means,
        },
        Line {
            label: "moving_variance".into(),
            x: steps.clone(),
            y: variances,
        },
        Line::from_fn("the data's mean, 3", &steps, |_| 3.0),
        Line::from_fn("the data's variance, 4", &steps, |_| 4.0),
    ];
    let options = LinePlotOptions {
        title: "BatchNormalization's moving statistics, momentum 0.99, batches of 32".into(),
        x_label: "training step".into(),
        y_label: "".into(),
        width: 720,
        height: 420,
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}

/// `n` points of two overlapping classes in 2-D: class 0 around (−0.5, 0), class 1 around
/// (0.5, 0), each coordinate with standard deviation 1. Overlapping on purpose: no boundary
/// separates them, so a network that classifies every training point right has learned noise.
fn two_blobs(n: usize, rng: &mut Rng) -> Result<(Tensor, Tensor)> {
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 2) as f32;
        x.push(class - 0.5 + rng.normal());
        x.push(rng.normal());
        y.push(class);
    }
    Ok((Tensor::from_vec(x, &[n, 2])?, Tensor::from_vec(y, &[n])?))
}

/// An MLP far too large for its data (2 → 256 → 256 → 2, 66,818 weights for 64 training
/// points), trained with Adam(0.01), seeded. Run twice from the same seed: 150 epochs in
/// full, then with `EarlyStopping(patience=10, restore_best_weights=True)`, whose run is the
/// beginning of the first one; the line marks the epoch whose weights early stopping keeps.
fn early_stopping(path: &Path) -> Result<()> {
    let mut rng = Rng::new(3);
    let (x_train, y_train) = two_blobs(64, &mut rng)?;
    let (x_val, y_val) = two_blobs(1000, &mut rng)?;
    let train = |epochs: usize, stop: Option<EarlyStopping>| -> Result<History> {
        set_seed(42);
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[2])),
            Box::new(Flatten::new()),
            Box::new(Dense::new(256).activation("relu")),
            Box::new(Dense::new(256).activation("relu")),
            Box::new(Dense::new(2).activation("softmax")),
        ])?;
        model.compile(
            "sparse_categorical_crossentropy",
            Adam::new(0.01),
            &["accuracy"],
        )?;
        let mut options = FitOptions::default()
            .epochs(epochs)
            .batch_size(32)
            .verbose(0)
            .validation_data(&x_val, &y_val);
        if let Some(stop) = stop {
            options = options.callback(stop);
        }
        Ok(model.fit(&x_train, &y_train, options)?)
    };
    let full = train(150, None)?;
    let stopped = train(
        150,
        Some(EarlyStopping::new().patience(10).restore_best_weights(true)),
    )?;
    let val_loss = stopped
        .history
        .get("val_loss")
        .ok_or("no val_loss in the history")?;
    let best = 1
        + (0..val_loss.len())
            .min_by(|&a, &b| val_loss[a].total_cmp(&val_loss[b]))
            .ok_or("no epoch ran")?;
    let options = HistoryPlotOptions {
        title: format!(
            "64 noisy points, a 66,818-weight MLP: early stopping (patience 10) ends at epoch {} \
             and keeps epoch {best}",
            val_loss.len()
        ),
        marker: Some(EpochMarker {
            after_epoch: best,
            label: format!("best val_loss: epoch {best}"),
        }),
        validation_only: false,
    };
    viz::history_plot_with(&[("", &full)], &options, path)?;
    Ok(())
}

/// VGG16 without its top at 150×150 (random weights: only the shapes matter) and the example's
/// head, set up as `session3_transfer_learning` fine-tunes them: the base unfrozen from
/// `block5_conv1` on. One panel per block: each layer with weights, in thousands of
/// parameters; the title says whether the block is frozen.
fn transfer_frozen(path: &Path) -> Result<()> {
    let options = Options::new()
        .include_top(false)
        .weights(Weights::Random)
        .input_shape(&[150, 150, 3]);
    let mut base = vgg16(&options)?;
    base.set_trainable(true);
    let layers = base.layers().to_vec();
    let fine_tune_at = layers
        .iter()
        .position(|l| l.name() == "block5_conv1")
        .ok_or("VGG16 has no block5_conv1")?;
    for layer in &layers[..fine_tune_at] {
        layer.borrow_mut().set_trainable(false);
    }
    let head = Sequential::new(vec![
        Box::new(Input::new(&[4, 4, 512])),
        Box::new(Flatten::new()),
        Box::new(Dense::new(256).activation("relu")),
        Box::new(Dropout::new(0.5)),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])?;
    // (block, trainable, parameters of each layer with weights)
    let mut blocks: Vec<(String, bool, Vec<usize>)> = Vec::new();
    for layer in &layers {
        let (name, params) = (layer.name(), layer.borrow().count_params());
        if params == 0 {
            continue;
        }
        let block = name.split('_').next().unwrap_or("").to_string();
        let trainable = layer.borrow().trainable();
        match blocks.last_mut() {
            Some((b, _, counts)) if *b == block => counts.push(params),
            _ => blocks.push((block, trainable, vec![params])),
        }
    }
    let head_counts: Vec<usize> = head
        .layers()
        .iter()
        .map(|l| l.borrow().count_params())
        .filter(|&p| p > 0)
        .collect();
    blocks.push(("head".into(), true, head_counts));
    let panels: Vec<Matrix> = blocks
        .iter()
        .map(|(block, trainable, counts)| {
            let total: usize = counts.iter().sum();
            let state = if *trainable { "trainable" } else { "frozen" };
            Matrix::new(
                &format!("{block}, {state}: {:.0}k", total as f32 / 1000.0),
                1,
                counts.len(),
                counts
                    .iter()
                    .map(|&p| (p as f32 / 100.0).round() / 10.0)
                    .collect(),
            )
        })
        .collect();
    viz::matrices(
        &panels,
        "Fine-tuning VGG16 at 150×150: thousands of parameters per layer",
        path,
    )?;
    Ok(())
}
