//! Gaussian error linear unit: `out = x·Φ(x)`, where `Φ(x) = ½(1 + erf(x/√2))` is the
//! standard normal CDF; or its tanh approximation.
//!
//! # Math
//! Exact (`approximate = false`):
//! - `out = ½·x·(1 + erf(x/√2))`;
//! - `∂out/∂x = Φ(x) + x·φ(x)`, with the normal density `φ(x) = e^(−x²/2)/√(2π)`
//!   (product rule, and `d erf(z)/dz = 2/√π · e^(−z²)`).
//!
//! Approximate (`approximate = true`, Hendrycks & Gimpel's tanh form, as Keras):
//! - `u = √(2/π)·(x + 0.044715·x³)`, `t = tanh u`, `out = ½·x·(1 + t)`;
//! - `∂out/∂x = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)`.
//!
//! `dx = dout · ∂out/∂x` in both cases. On the CPU both are computed in f64 and rounded once to
//! f32; both are elementwise ops (`UnaryOp::Gelu`, `UnaryOp::GeluTanh`), defined with their
//! backwards in `kernels/src/elementwise.rs`, so that they run on the GPU too.
//!
//! **erf.** Rust's standard library has no `erf`, so [`erf`] is written there: the Maclaurin
//! series for `|x| < 3`, and Laplace's continued fraction for `erfc` beyond, both accurate to
//! about 1e-13 (far below f32's 6e-8). The popular Abramowitz–Stegun 7.1.26 formula is only good
//! to 1.5e-7, which would show in the Keras comparison; the GPU, which computes in f32 anyway,
//! uses it.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

/// The error function, in `f64` (it lives beside the elementwise ops that use it:
/// `kernels/src/elementwise.rs`).
pub use astrograd_kernels::elementwise::erf;

impl Var {
    /// GELU, exact (`approximate = false`, Keras's default) or by its tanh approximation.
    /// See [`gelu`].
    pub fn gelu(&self, approximate: bool) -> Result<Var> {
        gelu(self, approximate)
    }
}

/// GELU elementwise: `tf.keras.activations.gelu(x, approximate=False)` (the default) or
/// `approximate=True`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![-1.0, 0.0, 1.0], &[3])?);
/// let y = x.gelu(false)?.value().to_vec()?;
/// assert!((y[2] - 0.841_344_7).abs() < 1e-6); // 1·Φ(1)
/// assert!((y[0] + 0.158_655_3).abs() < 1e-6); // −1·Φ(−1)
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn gelu(x: &Var, approximate: bool) -> Result<Var> {
    let x_value = x.value();
    let op = gelu_op(approximate);
    let y = x_value.unary(op);
    Ok(Var::from_op("gelu", y, &[x], move |dout| {
        Ok(vec![Some(gelu_backward(dout, &x_value, approximate)?)])
    }))
}

/// The elementwise op: `UnaryOp::Gelu` (its Rust and WGSL, forward and backward, are defined in
/// `kernels/src/elementwise.rs`, the CPU's in `f64`) or `UnaryOp::GeluTanh`.
fn gelu_op(approximate: bool) -> UnaryOp {
    if approximate {
        UnaryOp::GeluTanh
    } else {
        UnaryOp::Gelu
    }
}

/// `dx = dout · (Φ(x) + x·φ(x))`, or the tanh form's derivative when `approximate`.
pub fn gelu_backward(dout: &Tensor, x: &Tensor, approximate: bool) -> Result<Tensor> {
    Ok(dout.unary_backward(gelu_op(approximate), x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    /// One reference value of `erf`.
    struct ErfCase {
        x: f64,
        erf: f64,
    }

    #[test]
    fn erf_matches_reference_values() {
        // From Python's math.erf (the C library's, correctly rounded to about 1 ulp).
        let cases = [
            ErfCase { x: 0.0, erf: 0.0 },
            ErfCase {
                x: 0.1,
                erf: 0.1124629160182849,
            },
            ErfCase {
                x: 0.5,
                erf: 0.5204998778130465,
            },
            ErfCase {
                x: 1.0,
                erf: 0.8427007929497149,
            },
            ErfCase {
                x: -1.5,
                erf: -0.9661051464753108,
            },
            ErfCase {
                x: 2.0,
                erf: 0.9953222650189527,
            },
            ErfCase {
                x: 2.9999,
                erf: 0.9999778955735178,
            }, // either side of the switch at 3
            ErfCase {
                x: 3.0,
                erf: 0.9999779095030014,
            },
            ErfCase {
                x: 3.5,
                erf: 0.9999992569016276,
            },
            ErfCase {
                x: 5.0,
                erf: 0.9999999999984626,
            },
            ErfCase { x: -6.0, erf: -1.0 },
        ];
        for case in cases {
            let got = erf(case.x);
            assert!(
                (got - case.erf).abs() < 1e-13,
                "erf({}) = {got}, expected {}",
                case.x,
                case.erf
            );
        }
        assert!(erf(f64::NAN).is_nan());
        assert_eq!(erf(f64::INFINITY), 1.0);
    }

    #[test]
    fn exact_and_approximate_agree_closely() {
        // The tanh form is within about 5e-4 of the exact GELU everywhere.
        let x = Var::constant(random(&[64], -5.0, 5.0, 7));
        let exact = x.gelu(false).unwrap().value();
        let approx = x.gelu(true).unwrap().value();
        assert!(exact.all_close(&approx, 0.0, 1e-3));
        // At 0 both have value 0 and slope ½.
        let zero = Var::parameter(Tensor::zeros(&[1]));
        for approximate in [false, true] {
            zero.zero_grad();
            let y = zero.gelu(approximate).unwrap();
            assert_eq!(y.value().to_vec().unwrap(), vec![0.0]);
            y.sum_all().unwrap().backward().unwrap();
            assert_eq!(zero.grad().unwrap().to_vec().unwrap(), vec![0.5]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000, approximate in any::<bool>()) {
            let x = random(&s, -4.0, 4.0, seed);
            gradcheck("gelu", |v| v[0].gelu(approximate), &[x]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        let x = random(&[3, 7], -5.0, 5.0, 41);
        for approximate in [false, true] {
            crate::ops::testing::gpu_matches_cpu(
                &format!("gelu (approximate {approximate})"),
                std::slice::from_ref(&x),
                |v| v[0].gelu(approximate).unwrap(),
            );
        }
    }
}
