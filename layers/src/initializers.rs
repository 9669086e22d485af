//! Weight initializers, with Keras's formulas (TF 2.10 `initializers_v2.py`).
//!
//! # Math
//! The variance-scaling family draws with a variance that keeps the signal's scale from layer
//! to layer. It needs the **fans** of the weight's shape:
//!
//! | shape | fan_in | fan_out |
//! |---|---|---|
//! | `(units,)` (a bias) | units | units |
//! | `(in, out)` (Dense) | in | out |
//! | `(KH, KW, C, F)` (Conv2D, HWIO) | KH·KW·C | KH·KW·F |
//! | `(KH, KW, C, M)` (DepthwiseConv2D) | KH·KW·C | KH·KW·M |
//!
//! With `s = scale / max(1, fan)` (fan = fan_in, fan_out, or their mean `(fan_in + fan_out)/2`):
//!
//! - uniform: `U(−limit, limit)` with `limit = sqrt(3·s)`;
//! - truncated normal: `N(0, σ²)` cut at ±2σ by redrawing, with `σ = sqrt(s) / 0.87962566103423978`
//!   (0.8796… is the standard deviation of a unit normal truncated at ±2, so the values drawn
//!   have variance exactly `s`).
//!
//! | name | scale, fan, distribution | in closed form |
//! |---|---|---|
//! | glorot_uniform (Keras's default) | 1, avg, uniform | `limit = sqrt(6/(fan_in + fan_out))` |
//! | glorot_normal | 1, avg, truncated | `σ = sqrt(2/(fan_in + fan_out))/0.8796…` |
//! | he_uniform | 2, in, uniform | `limit = sqrt(6/fan_in)` |
//! | he_normal | 2, in, truncated | `σ = sqrt(2/fan_in)/0.8796…` |
//! | lecun_uniform | 1, in, uniform | `limit = sqrt(3/fan_in)` |
//! | lecun_normal | 1, in, truncated | `σ = sqrt(1/fan_in)/0.8796…` |
//!
//! A 3×3 convolution from 16 to 32 channels: `fan_in = 144`, `fan_out = 288`,
//! glorot_uniform `limit = sqrt(6/432) = 0.11785`.
//!
//! Every draw comes from astrograd's seeded generator ([`astrograd_tensor::set_seed`]), so a
//! seeded run initialises the same weights every time (not the same numbers as Keras, whose
//! generator differs).
use astrograd_tensor::random::{with_global, Rng};
use astrograd_tensor::Tensor;

use crate::{LayerError, Result};

/// The standard deviation of a unit normal truncated to [−2, 2].
const TRUNCATED_NORMAL_STDDEV: f32 = 0.879_625_7; // 0.87962566103423978, as Keras writes it

/// A way to fill a new weight tensor (Keras's `kernel_initializer=`, `bias_initializer=`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// `U(±sqrt(6/(fan_in + fan_out)))`, Keras's default for kernels.
    GlorotUniform,
    /// Truncated normal, `σ = sqrt(2/(fan_in + fan_out))/0.8796…`.
    GlorotNormal,
    /// Truncated normal, `σ = sqrt(2/fan_in)/0.8796…` (for ReLU networks).
    HeNormal,
    /// `U(±sqrt(6/fan_in))`.
    HeUniform,
    /// Truncated normal, `σ = sqrt(1/fan_in)/0.8796…` (for SELU networks).
    LecunNormal,
    /// `U(±sqrt(3/fan_in))`.
    LecunUniform,
    /// `N(mean, stddev²)`; Keras's defaults are `mean = 0`, `stddev = 0.05`.
    RandomNormal {
        /// The mean.
        mean: f32,
        /// The standard deviation.
        stddev: f32,
    },
    /// `U(minval, maxval)`; Keras's defaults are `−0.05`, `0.05`.
    RandomUniform {
        /// The lower bound.
        minval: f32,
        /// The upper bound.
        maxval: f32,
    },
    /// `N(mean, stddev²)` cut at `mean ± 2·stddev`; Keras's defaults `0`, `0.05`.
    TruncatedNormal {
        /// The mean.
        mean: f32,
        /// The standard deviation of the normal before the cut.
        stddev: f32,
    },
    /// All 0 (Keras's default for biases).
    Zeros,
    /// All 1.
    Ones,
    /// All equal to the value.
    Constant(f32),
}

/// The names [`Initializer::from_name`] knows, as Keras spells them.
pub const INITIALIZER_NAMES: [&str; 11] = [
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "zeros",
    "ones",
];

/// Which fan a variance-scaling initializer divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FanMode {
    In,
    Average,
}

impl Initializer {
    /// The initializer Keras's string names: `"glorot_uniform"`, `"he_normal"`, `"zeros"`, …
    /// (`random_normal`, `random_uniform`, `truncated_normal` take Keras's default arguments).
    ///
    /// ```
    /// use astrograd_layers::Initializer;
    /// assert_eq!(Initializer::from_name("he_normal")?, Initializer::HeNormal);
    /// assert!(Initializer::from_name("he_normall").is_err());
    /// # Ok::<(), astrograd_layers::LayerError>(())
    /// ```
    ///
    /// # Errors
    /// [`LayerError::UnknownName`] listing the known names.
    pub fn from_name(name: &str) -> Result<Initializer> {
        Ok(match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "lecun_normal" => Initializer::LecunNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            "random_normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "random_uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "truncated_normal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "initializer",
                    name: name.to_string(),
                    known: INITIALIZER_NAMES.join(", "),
                })
            }
        })
    }

    /// A new tensor of `shape` drawn from the global seeded generator.
    pub fn sample(&self, shape: &[usize]) -> Tensor {
        with_global(|rng| self.sample_with(rng, shape))
    }

    /// A new tensor of `shape` drawn from `rng`.
    pub fn sample_with(&self, rng: &mut Rng, shape: &[usize]) -> Tensor {
        match *self {
            Initializer::GlorotUniform => {
                variance_scaling_uniform(rng, shape, 1.0, FanMode::Average)
            }
            Initializer::GlorotNormal => variance_scaling_normal(rng, shape, 1.0, FanMode::Average),
            Initializer::HeNormal => variance_scaling_normal(rng, shape, 2.0, FanMode::In),
            Initializer::HeUniform => variance_scaling_uniform(rng, shape, 2.0, FanMode::In),
            Initializer::LecunNormal => variance_scaling_normal(rng, shape, 1.0, FanMode::In),
            Initializer::LecunUniform => variance_scaling_uniform(rng, shape, 1.0, FanMode::In),
            Initializer::RandomNormal { mean, stddev } => {
                Tensor::rand_normal_with(rng, shape, mean, stddev)
            }
            Initializer::RandomUniform { minval, maxval } => {
                Tensor::rand_uniform_with(rng, shape, minval, maxval)
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                Tensor::rand_truncated_normal_with(rng, shape, mean, stddev)
            }
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant(value) => Tensor::full(shape, value),
        }
    }
}

/// `(fan_in, fan_out)` of a weight shape, as Keras's `_compute_fans`: the last two axes are
/// (in, out) and every axis before them is the receptive field that multiplies both.
pub fn compute_fans(shape: &[usize]) -> (f32, f32) {
    match shape {
        [] => (1.0, 1.0),
        [units] => (*units as f32, *units as f32),
        [fan_in, fan_out] => (*fan_in as f32, *fan_out as f32),
        _ => {
            let (kernel, io) = shape.split_at(shape.len() - 2);
            let receptive_field: usize = kernel.iter().product();
            (
                (io[0] * receptive_field) as f32,
                (io[1] * receptive_field) as f32,
            )
        }
    }
}

/// `s = scale / max(1, fan)`.
fn scaled_variance(shape: &[usize], scale: f32, mode: FanMode) -> f32 {
    let (fan_in, fan_out) = compute_fans(shape);
    let fan = match mode {
        FanMode::In => fan_in,
        FanMode::Average => (fan_in + fan_out) / 2.0,
    };
    scale / fan.max(1.0)
}

/// `U(−limit, limit)` with `limit = sqrt(3·s)`.
fn variance_scaling_uniform(rng: &mut Rng, shape: &[usize], scale: f32, mode: FanMode) -> Tensor {
    let limit = (3.0 * scaled_variance(shape, scale, mode)).sqrt();
    Tensor::rand_uniform_with(rng, shape, -limit, limit)
}

/// Truncated `N(0, σ²)` with `σ = sqrt(s)/0.8796…`.
fn variance_scaling_normal(rng: &mut Rng, shape: &[usize], scale: f32, mode: FanMode) -> Tensor {
    let stddev = scaled_variance(shape, scale, mode).sqrt() / TRUNCATED_NORMAL_STDDEV;
    Tensor::rand_truncated_normal_with(rng, shape, 0.0, stddev)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statistic to check of one initializer on one shape.
    struct InitCase {
        init: Initializer,
        shape: &'static [usize],
        /// The largest |value| allowed (the uniform limit, or 2σ for the truncated normal).
        bound: f32,
        /// The expected standard deviation of the values drawn.
        stddev: f32,
    }

    fn stats(t: &Tensor) -> (f32, f32, f32) {
        let v = t.as_slice().unwrap();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        (mean as f32, var.sqrt() as f32, max)
    }

    #[test]
    fn limits_and_standard_deviations_follow_keras() {
        // Conv 3×3, 16 → 32: fan_in 144, fan_out 288 (docs/keras-semantics.md §2: glorot limit
        // 0.11785).
        let conv: &[usize] = &[3, 3, 16, 32];
        let glorot_limit = (6.0f32 / 432.0).sqrt();
        assert!((glorot_limit - 0.11785).abs() < 1e-5);
        let he_sigma = (2.0f32 / 144.0).sqrt() / TRUNCATED_NORMAL_STDDEV;
        let dense: &[usize] = &[784, 300];
        let cases = [
            InitCase {
                init: Initializer::GlorotUniform,
                shape: conv,
                bound: glorot_limit,
                stddev: glorot_limit / 3f32.sqrt(),
            },
            InitCase {
                init: Initializer::HeUniform,
                shape: conv,
                bound: (6.0f32 / 144.0).sqrt(),
                stddev: (2.0f32 / 144.0).sqrt(),
            },
            InitCase {
                init: Initializer::LecunUniform,
                shape: dense,
                bound: (3.0f32 / 784.0).sqrt(),
                stddev: (1.0f32 / 784.0).sqrt(),
            },
            // Truncated normals: values within 2σ_raw, and the variance of what is kept is s.
            InitCase {
                init: Initializer::HeNormal,
                shape: conv,
                bound: 2.0 * he_sigma,
                stddev: (2.0f32 / 144.0).sqrt(),
            },
            InitCase {
                init: Initializer::GlorotNormal,
                shape: dense,
                bound: 2.0 * (2.0f32 / 1084.0).sqrt() / TRUNCATED_NORMAL_STDDEV,
                stddev: (2.0f32 / 1084.0).sqrt(),
            },
            InitCase {
                init: Initializer::LecunNormal,
                shape: dense,
                bound: 2.0 * (1.0f32 / 784.0).sqrt() / TRUNCATED_NORMAL_STDDEV,
                stddev: (1.0f32 / 784.0).sqrt(),
            },
            InitCase {
                init: Initializer::TruncatedNormal {
                    mean: 0.0,
                    stddev: 0.05,
                },
                shape: dense,
                bound: 0.1,
                stddev: 0.05 * TRUNCATED_NORMAL_STDDEV,
            },
            InitCase {
                init: Initializer::RandomNormal {
                    mean: 0.0,
                    stddev: 0.05,
                },
                shape: dense,
                bound: 1.0,
                stddev: 0.05,
            },
            InitCase {
                init: Initializer::RandomUniform {
                    minval: -0.05,
                    maxval: 0.05,
                },
                shape: dense,
                bound: 0.05,
                stddev: 0.1 / 12f32.sqrt(),
            },
        ];
        let mut rng = Rng::new(42);
        for case in cases {
            let t = case.init.sample_with(&mut rng, case.shape);
            assert_eq!(t.shape(), case.shape);
            let (mean, stddev, max) = stats(&t);
            assert!(
                max <= case.bound * (1.0 + 1e-6),
                "{:?}: max {max} > {}",
                case.init,
                case.bound
            );
            // Most of the range is used (a bug in the limit would show here).
            assert!(
                max > 0.9 * case.bound.min(4.0 * case.stddev),
                "{:?}: max {max}",
                case.init
            );
            assert!(
                mean.abs() < 0.05 * case.stddev.max(0.01),
                "{:?}: mean {mean}",
                case.init
            );
            assert!(
                (stddev / case.stddev - 1.0).abs() < 0.03,
                "{:?}: stddev {stddev}, expected {}",
                case.init,
                case.stddev
            );
        }
    }

    #[test]
    fn fans_of_dense_conv_depthwise_and_bias_shapes() {
        assert_eq!(compute_fans(&[784, 300]), (784.0, 300.0));
        assert_eq!(compute_fans(&[3, 3, 16, 32]), (144.0, 288.0));
        assert_eq!(compute_fans(&[3, 3, 32, 1]), (288.0, 9.0)); // depthwise, multiplier 1
        assert_eq!(compute_fans(&[10]), (10.0, 10.0));
    }

    #[test]
    fn constants_and_names() {
        assert_eq!(
            Initializer::Zeros.sample(&[2]).to_vec().unwrap(),
            vec![0.0, 0.0]
        );
        assert_eq!(Initializer::Ones.sample(&[1]).to_vec().unwrap(), vec![1.0]);
        assert_eq!(
            Initializer::Constant(0.5).sample(&[1]).to_vec().unwrap(),
            vec![0.5]
        );
        for name in INITIALIZER_NAMES {
            assert!(Initializer::from_name(name).is_ok(), "{name}");
        }
        let err = Initializer::from_name("xavier").unwrap_err().to_string();
        assert!(
            err.contains("Unknown initializer: 'xavier'") && err.contains("he_normal"),
            "{err}"
        );
    }

    #[test]
    fn same_seed_same_weights() {
        // A local generator: tests run in parallel and share the global one.
        let mut r1 = Rng::new(9);
        let mut r2 = Rng::new(9);
        for init in [Initializer::GlorotUniform, Initializer::HeNormal] {
            assert_eq!(
                init.sample_with(&mut r1, &[4, 3]).to_vec(),
                init.sample_with(&mut r2, &[4, 3]).to_vec()
            );
        }
    }
}
