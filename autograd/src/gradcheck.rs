//! Finite-difference gradient checking: the test every op must pass.
//!
//! For a function `out = f(x₁, …, xₙ)` we check the gradients of the scalar
//! `L = Σ out · r`, where `r` is a fixed random tensor: a non-uniform upstream gradient, so that
//! an op whose backward ignores `dout` (or mixes up its positions) cannot pass by luck as it
//! could under `sum()`.
//!
//! * analytic: `out.backward_with(r)` leaves `a = ∂L/∂xᵢ` in each input;
//! * numeric: for every element `j`, the central difference
//!   `D(h) = (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h`, with `L` summed in f64 so that only the f32
//!   rounding of `f` itself adds noise, taken at `h = ε` and `h = ε/2` and combined by
//!   Richardson's extrapolation, `n_j = (4·D(ε/2) − D(ε)) / 3`. `D(h)` is off by `h²·f‴/6`;
//!   the combination cancels that term, leaving an error of order `ε⁴`. It matters where many
//!   large terms cancel to a small gradient (a scalar broadcast against a tensor, `Σ_k r_k·∂out_k`):
//!   their truncation errors add up while the gradient does not.
//!
//! # The rule
//! For each input `xᵢ` and each of its elements `j`:
//!
//! `|a_j − n_j| ≤ max(atol · rms(n), noise) + rtol · max(|a_j|, |n_j|)`
//!
//! where `rms(n) = √(Σ_j n_j² / len)` is the size of that input's numeric gradient. The absolute
//! part scales with the gradient: a fixed absolute tolerance (say 2e-3) would let the gradient of
//! a mean over 10 000 elements (every element ≈ 1e-4) be wrong by a factor of two and still pass.
//! `noise` is what f32 rounding alone does to `n_j`: the larger of the fixed `noise_floor` and
//! `2·f32::EPSILON·‖out∘r‖₂ / ε`, the rounding of every output of `f` carried into `L` and
//! divided by the step. Below it `n_j` is not a derivative but noise. A NaN or infinity on
//! either side fails.
//!
//! `gradcheck`'s own tests prove that a deliberately wrong backward is caught, including a
//! factor-of-2 error on the tiny gradients of a wide mean.
use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;

use crate::{no_grad, AutogradError, Result, Var};

/// Step and tolerances of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The larger finite-difference step ε (the smaller one is ε/2).
    pub eps: f32,
    /// Relative tolerance, per element.
    pub rtol: f64,
    /// Absolute tolerance as a fraction of the RMS of the input's numeric gradient.
    pub atol: f64,
    /// The absolute tolerance never goes below this: the rounding noise of the numeric gradient
    /// of an f32 forward, `≈ 1e-7·|L| / 2ε`, for the `L` of order one that the op tests use.
    pub noise_floor: f64,
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
            atol: 1e-2,
            noise_floor: 1e-5,
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
    /// The largest `|analytic − numeric| / tolerance` seen (below 1 when the check passes).
    pub worst_ratio: f64,
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
    // How far f32 rounding alone moves the numeric gradient: each output carries a rounding
    // error of up to half an ulp (≈ 6e-8 relative), so L = Σ out·r is uncertain by about
    // ‖out∘r‖₂·6e-8 and the difference quotient by that over ε — twice that over ε/2 and,
    // through Richardson's weights, ≈ 2.7 times. `2·f32::EPSILON·‖out∘r‖₂ / ε` is about
    // four standard deviations of that noise.
    let out_r_norm = out
        .value()
        .as_slice()?
        .iter()
        .zip(r.as_slice()?)
        .map(|(&o, &w)| (o as f64 * w as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let rounding_noise = 2.0 * f32::EPSILON as f64 * out_r_norm / options.eps as f64;

    let loss = |perturbed: &[Tensor]| -> Result<f64> {
        let out = no_grad(|| {
            let vars: Vec<Var> = perturbed.iter().cloned().map(Var::constant).collect();
            f(&vars)
        })?;
        let value = out.value();
        Ok(value
            .as_slice()?
            .iter()
            .zip(r.as_slice()?)
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum())
    };

    let mut report = GradcheckReport {
        checked: 0,
        max_abs_error: 0.0,
        worst_ratio: 0.0,
    };
    for (i, var) in vars.iter().enumerate() {
        let analytic = var.grad().unwrap_or_else(|| Tensor::zeros(&var.shape()));
        // The central difference of L along element j of input i, with step h.
        let central = |j: usize, h: f32| -> Result<f64> {
            let mut plus = inputs.to_vec();
            let mut minus = inputs.to_vec();
            let x = inputs[i].as_slice()?[j];
            plus[i].as_mut_slice()?[j] = x + h;
            minus[i].as_mut_slice()?[j] = x - h;
            // The step actually taken, after f32 rounding of x ± h.
            let step = (x + h) as f64 - (x - h) as f64;
            Ok((loss(&plus)? - loss(&minus)?) / step)
        };
        // numeric: (numel of xᵢ), Richardson's extrapolation of two central differences.
        let mut numeric = Vec::with_capacity(inputs[i].numel());
        for j in 0..inputs[i].numel() {
            let (coarse, fine) = (central(j, options.eps)?, central(j, options.eps / 2.0)?);
            numeric.push((4.0 * fine - coarse) / 3.0);
        }
        let rms = (numeric.iter().map(|n| n * n).sum::<f64>() / numeric.len().max(1) as f64).sqrt();
        let absolute = (options.atol * rms)
            .max(options.noise_floor)
            .max(rounding_noise);
        for (j, &n) in numeric.iter().enumerate() {
            let a = analytic.as_slice()?[j] as f64;
            let error = (a - n).abs();
            let tolerance = absolute + options.rtol * a.abs().max(n.abs());
            report.checked += 1;
            // A NaN or an infinity on either side fails (∞ ≤ ∞ would not).
            if !a.is_finite() || !n.is_finite() || error.is_nan() || error > tolerance {
                return Err(AutogradError::GradientCheck {
                    op: name.to_string(),
                    detail: format!(
                        "input {i} (shape {:?}) element {j} (value {}): analytic {a:.6e}, \
                         numeric {n:.6e}, |difference| {error:.2e} > tolerance {tolerance:.2e} \
                         (gradient RMS {rms:.2e})",
                        inputs[i].shape(),
                        inputs[i].as_slice()?[j]
                    ),
                });
            }
            report.max_abs_error = report.max_abs_error.max(error);
            report.worst_ratio = report.worst_ratio.max(error / tolerance);
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

    /// The mean of every element, with a backward that is `factor` times the true one.
    fn mean_with_scaled_gradient(x: &Var, factor: f32) -> Result<Var> {
        let count = x.value().numel();
        let shape = x.shape();
        Ok(Var::from_op(
            "mean_scaled",
            x.value().mean_all()?,
            &[x],
            move |dout| {
                // dx = factor · dout / count, the same for every element.
                let d = dout.item()? * factor / count as f32;
                Ok(vec![Some(Tensor::full(&shape, d))])
            },
        ))
    }

    /// A factor-of-2 error on a wide reduction: `mean` over 10 000 elements has gradients of
    /// about 1e-4 each, far below the old fixed absolute tolerance of 2e-3, which let the wrong
    /// backward pass. The tolerance scaled by the gradient's RMS catches it; the right backward
    /// still passes.
    #[test]
    fn a_factor_of_two_on_tiny_gradients_is_caught() {
        let x = Tensor::rand_uniform_with(&mut Rng::new(7), &[100, 100], -1.0, 1.0);
        let inputs = std::slice::from_ref(&x);
        let wrong = gradcheck(
            "mean_times_2",
            |v| mean_with_scaled_gradient(&v[0], 2.0),
            inputs,
        )
        .unwrap_err();
        assert!(
            matches!(wrong, AutogradError::GradientCheck { .. }),
            "{wrong}"
        );
        let right = gradcheck("mean", |v| mean_with_scaled_gradient(&v[0], 1.0), inputs).unwrap();
        assert_eq!(right.checked, 10_000);
        assert!(right.worst_ratio < 1.0);
        // The old tolerance, `|a − n| ≤ 2e-3 + 1e-2·max(|a|, |n|)`, is this one with no RMS
        // term and a floor of 2e-3: under it the wrong backward passes, as it did before.
        let old_rule = GradcheckOptions {
            atol: 0.0,
            noise_floor: 2e-3,
            ..GradcheckOptions::default()
        };
        assert!(gradcheck_with(
            "mean_times_2",
            |v| mean_with_scaled_gradient(&v[0], 2.0),
            inputs,
            old_rule
        )
        .is_ok());
    }

    #[test]
    fn a_nan_or_infinite_gradient_is_caught() {
        let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]).unwrap();
        let nan = |v: &[Var]| -> Result<Var> {
            let shape = v[0].shape();
            Ok(Var::from_op(
                "nan_backward",
                v[0].value(),
                &[&v[0]],
                move |_| Ok(vec![Some(Tensor::full(&shape, f32::NAN))]),
            ))
        };
        assert!(gradcheck("nan_backward", nan, std::slice::from_ref(&x)).is_err());
        let inf = |v: &[Var]| -> Result<Var> {
            let shape = v[0].shape();
            Ok(Var::from_op(
                "inf_backward",
                v[0].value(),
                &[&v[0]],
                move |_| Ok(vec![Some(Tensor::full(&shape, f32::INFINITY))]),
            ))
        };
        assert!(gradcheck("inf_backward", inf, &[x]).is_err());
    }
}
