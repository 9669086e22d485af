//! Finite-difference gradient checking: the test every op must pass.
//!
//! For a function `out = f(x₁, …, xₙ)` we check the gradients of the scalar
//! `L = Σ out · r`, where `r` is a fixed random tensor: a non-uniform upstream gradient, so that
//! an op whose backward ignores `dout` (or mixes up its positions) cannot pass by luck as it
//! could under `sum()`.
//!
//! * analytic: `out.backward_with(r)` leaves `∂L/∂xᵢ` in each input;
//! * numeric: the central difference `(L(x + ε·eⱼ) − L(x − ε·eⱼ)) / 2ε` for every element `j`,
//!   with `L` summed in f64 so that only the f32 rounding of `f` itself adds noise.
//!
//! They agree when `|analytic − numeric| ≤ atol + rtol · max(|analytic|, |numeric|)` everywhere.
//! `gradcheck`'s own tests prove that a deliberately wrong backward is caught.
use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;

use crate::{no_grad, AutogradError, Result, Var};

/// Step and tolerances of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step ε.
    pub eps: f32,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Seed of the upstream gradient `r`.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        // f32 forward passes: ε = 1e-2 keeps the rounding noise of L (≈ 1e-7·|L| / ε) well
        // below the tolerance while the truncation error (≈ ε²·f‴) stays small too.
        GradcheckOptions {
            eps: 1e-2,
            rtol: 1e-2,
            atol: 2e-3,
            seed: 0,
        }
    }
}

/// What a passing check measured.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    /// Number of elements compared.
    pub checked: usize,
    /// The largest `|analytic − numeric|` seen.
    pub max_abs_error: f64,
}

/// Checks the backward of `f` at `inputs` with the default options.
///
/// ```
/// use astrograd_autograd::{gradcheck::gradcheck, Tensor};
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?;
/// gradcheck("x·x", |v| v[0].mul(&v[0]), &[x])?;
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::GradientCheck`] with the worst element when they disagree; any error of `f`.
pub fn gradcheck(
    name: &str,
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
) -> Result<GradcheckReport> {
    gradcheck_with(name, f, inputs, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit step and tolerances.
///
/// # Errors
/// As [`gradcheck`].
pub fn gradcheck_with(
    name: &str,
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
    options: GradcheckOptions,
) -> Result<GradcheckReport> {
    // Analytic gradients of L = Σ out·r.
    let vars: Vec<Var> = inputs.iter().cloned().map(Var::parameter).collect();
    let out = f(&vars)?;
    let mut rng = Rng::new(options.seed);
    // r: (shape of out), values in ±[0.5, 1.5] so no position is (nearly) ignored.
    let r = Tensor::from_vec(
        (0..out.value().numel())
            .map(|_| {
                let magnitude = 0.5 + rng.uniform();
                if rng.uniform() < 0.5 {
                    -magnitude
                } else {
                    magnitude
                }
            })
            .collect(),
        &out.shape(),
    )?;
    out.backward_with(r.clone())?;

    let loss = |perturbed: &[Tensor]| -> Result<f64> {
        let out = no_grad(|| {
            let vars: Vec<Var> = perturbed.iter().cloned().map(Var::constant).collect();
            f(&vars)
        })?;
        let value = out.value();
        Ok(value
            .as_slice()
            .iter()
            .zip(r.as_slice())
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum())
    };

    let mut report = GradcheckReport {
        checked: 0,
        max_abs_error: 0.0,
    };
    for (i, var) in vars.iter().enumerate() {
        let analytic = var.grad().unwrap_or_else(|| Tensor::zeros(&var.shape()));
        for j in 0..inputs[i].numel() {
            let mut plus = inputs.to_vec();
            let mut minus = inputs.to_vec();
            let x = inputs[i].as_slice()[j];
            plus[i].as_mut_slice()[j] = x + options.eps;
            minus[i].as_mut_slice()[j] = x - options.eps;
            // The step actually taken, after f32 rounding of x ± ε.
            let step = (x + options.eps) as f64 - (x - options.eps) as f64;
            let numeric = (loss(&plus)? - loss(&minus)?) / step;
            let a = analytic.as_slice()[j] as f64;
            let error = (a - numeric).abs();
            report.max_abs_error = report.max_abs_error.max(error);
            report.checked += 1;
            let tolerance = options.atol + options.rtol * a.abs().max(numeric.abs());
            // Written so that a NaN on either side fails the check.
            if error.is_nan() || error > tolerance {
                return Err(AutogradError::GradientCheck {
                    op: name.to_string(),
                    detail: format!(
                        "input {i} (shape {:?}) element {j} (value {x}): analytic {a:.6}, numeric {numeric:.6}",
                        inputs[i].shape()
                    ),
                });
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x²` with a deliberately wrong backward (`dout · x`, missing the factor 2).
    fn square_with_wrong_gradient(x: &Var) -> Result<Var> {
        let value = x.value().mul(&x.value())?;
        let saved_x = x.value();
        Ok(Var::from_op("square_wrong", value, &[x], move |dout| {
            Ok(vec![Some(dout.mul(&saved_x)?)])
        }))
    }

    #[test]
    fn a_wrong_gradient_is_caught() {
        let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]).unwrap();
        let err = gradcheck(
            "square_wrong",
            |v| square_with_wrong_gradient(&v[0]),
            std::slice::from_ref(&x),
        )
        .unwrap_err();
        assert!(matches!(err, AutogradError::GradientCheck { .. }), "{err}");
        // The right gradient passes at the same point.
        let report = gradcheck("square", |v| v[0].mul(&v[0]), &[x]).unwrap();
        assert_eq!(report.checked, 3);
    }

    #[test]
    fn a_gradient_that_ignores_dout_is_caught() {
        // Returns 2x regardless of dout: right under sum(), wrong under a random upstream.
        let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]).unwrap();
        let bad = |v: &[Var]| -> Result<Var> {
            let saved_x = v[0].value();
            Ok(Var::from_op(
                "square_ignores_dout",
                saved_x.mul(&saved_x)?,
                &[&v[0]],
                move |_| Ok(vec![Some(saved_x.mul_scalar(2.0))]),
            ))
        };
        assert!(gradcheck("square_ignores_dout", bad, &[x]).is_err());
    }
}
