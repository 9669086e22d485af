//! Dropout (Keras `Dropout`), the inverted kind: while training, each value is dropped
//! (set to 0) with probability `rate`, and the values kept are scaled by `1/(1 − rate)`, so
//! that the expected output equals the input and nothing needs rescaling at inference time.
//!
//! # Math
//! With `mask[i] = scale = 1/(1 − rate)` if `u[i] ≥ rate` and 0 otherwise (`u` uniform in
//! `[0, 1)`):
//!
//! `out = x · mask`, so `E[out] = x · scale · (1 − rate) = x`.
//!
//! For a fixed mask this is a product with a constant, so `dx = dout · mask`: a dropped unit
//! passes no gradient back, a kept one passes `dout` scaled like its value.
//!
//! # Randomness
//! Each call draws ONE 64-bit seed from the `rng` passed in; the mask is then a stateless hash
//! of `(seed, i)` ([`astrograd_tensor::nn::dropout::dropout`]), computed on the device of `x`
//! as it is multiplied in. The CPU and the GPU draw the same mask from the same seed, bit for
//! bit, and the backward draws it again from the seed: only the seed is kept, not a mask of
//! the shape of `x`, and each pass is one kernel.
//!
//! Outside training (`evaluate`, `predict`) or with `rate = 0`, dropout is the identity.
//! The `≥` test follows TF 2.10's `tf.nn.dropout` (whose own random stream differs).
//!
//! # Shapes
//! `x`: any; `out`: the shape of `x`.
use astrograd_tensor::nn::dropout::dropout as drop_with_mask;
use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;

use crate::{AutogradError, Result, Var};

impl Var {
    /// Inverted dropout while `training`. See [`dropout`].
    pub fn dropout(&self, rate: f32, training: bool, rng: &mut Rng) -> Result<Var> {
        dropout(self, rate, training, rng)
    }
}

/// What the forward saves for the backward: what draws its mask again.
pub struct DropoutMask {
    /// The seed the mask was drawn from.
    pub seed: u64,
    /// The probability of dropping a value.
    pub rate: f32,
}

/// Inverted dropout: while `training`, zeroes each value with probability `rate` and scales
/// the rest by `1/(1 − rate)`; the identity when `!training` or `rate == 0`. The mask comes
/// from one seed drawn from `rng`, so the same seed drops the same values.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// use astrograd_tensor::random::Rng;
/// let x = Var::constant(Tensor::ones(&[1000]));
/// let y = x.dropout(0.5, true, &mut Rng::new(42))?;
/// // Every value is dropped (0) or kept and doubled (2).
/// assert!(y.value().as_slice()?.iter().all(|&v| v == 0.0 || v == 2.0));
/// let same = x.dropout(0.5, false, &mut Rng::new(42))?; // inference: the identity
/// assert_eq!(same.value().to_vec()?, vec![1.0; 1000]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `dropout` if `rate` is not in `[0, 1)`.
pub fn dropout(x: &Var, rate: f32, training: bool, rng: &mut Rng) -> Result<Var> {
    if !(0.0..1.0).contains(&rate) {
        return Err(AutogradError::Invalid {
            op: "dropout",
            expected: "a rate in [0, 1)".into(),
            found: format!("{rate}"),
        });
    }
    if !training || rate == 0.0 {
        return Ok(x.clone());
    }
    // One seed per call; the mask is drawn from it on the device of x.
    let mask = DropoutMask {
        seed: rng.next_u64(),
        rate,
    };
    let out = drop_with_mask(mask.seed, rate, &x.value())?;
    Ok(Var::from_op("dropout", out, &[x], move |dout| {
        Ok(vec![Some(dropout_backward(dout, &mask)?)])
    }))
}

/// `dx = dout · mask`, the forward's mask drawn again from its seed.
pub fn dropout_backward(dout: &Tensor, mask: &DropoutMask) -> Result<Tensor> {
    Ok(drop_with_mask(mask.seed, mask.rate, dout)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    #[test]
    fn the_same_seed_drops_the_same_values() {
        let x = Var::constant(random(&[8, 16], 1.0, 2.0, 3));
        let a = x
            .dropout(0.3, true, &mut Rng::new(7))
            .unwrap()
            .value()
            .to_vec();
        let b = x
            .dropout(0.3, true, &mut Rng::new(7))
            .unwrap()
            .value()
            .to_vec();
        let c = x
            .dropout(0.3, true, &mut Rng::new(8))
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Two draws from one generator give two different masks.
        let mut rng = Rng::new(7);
        let first = x.dropout(0.3, true, &mut rng).unwrap().value().to_vec();
        let second = x.dropout(0.3, true, &mut rng).unwrap().value().to_vec();
        assert_eq!(first, a);
        assert_ne!(first, second);
    }

    #[test]
    fn drops_about_rate_and_keeps_the_mean() {
        // x: (100_000,) in [1, 2): no value is 0 before dropout.
        let n = 100_000;
        let x = random(&[n], 1.0, 2.0, 11);
        for rate in [0.2f32, 0.5, 0.8] {
            let y = Var::constant(x.clone())
                .dropout(rate, true, &mut Rng::new(5))
                .unwrap()
                .value();
            let dropped =
                y.as_slice().unwrap().iter().filter(|&&v| v == 0.0).count() as f32 / n as f32;
            // The standard deviation of the fraction is sqrt(rate(1−rate)/n) ≤ 0.0016.
            assert!(
                (dropped - rate).abs() < 0.01,
                "rate {rate}: dropped {dropped}"
            );
            let (mean_x, mean_y) = (
                x.mean_all().unwrap().item().unwrap(),
                y.mean_all().unwrap().item().unwrap(),
            );
            assert!(
                (mean_y - mean_x).abs() < 0.02 * mean_x,
                "rate {rate}: mean {mean_y} vs {mean_x}"
            );
            // Every kept value is the input scaled by 1/(1 − rate).
            for (&yi, &xi) in y.as_slice().unwrap().iter().zip(x.as_slice().unwrap()) {
                assert!(yi == 0.0 || (yi - xi / (1.0 - rate)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn identity_in_inference_mode_and_at_rate_zero() {
        let x = Var::parameter(random(&[3, 4], -1.0, 1.0, 1));
        let eval = x.dropout(0.5, false, &mut Rng::new(0)).unwrap();
        assert!(eval.same_node(&x));
        let zero = x.dropout(0.0, true, &mut Rng::new(0)).unwrap();
        assert_eq!(zero.value().to_vec(), x.value().to_vec());
        zero.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![1.0; 12]);
    }

    #[test]
    fn gradient_follows_the_mask() {
        let x = Var::parameter(Tensor::ones(&[64]));
        let y = x.dropout(0.25, true, &mut Rng::new(9)).unwrap();
        let dout = random(&[64], -1.0, 1.0, 2);
        y.backward_with(dout.clone()).unwrap();
        let (y, dx) = (y.value(), x.grad().unwrap());
        for i in 0..64 {
            // x = 1, so y[i] is the mask times the scale: dx[i] = dout[i] · y[i].
            assert!(
                (dx.as_slice().unwrap()[i]
                    - dout.as_slice().unwrap()[i] * y.as_slice().unwrap()[i])
                    .abs()
                    < 1e-6
            );
        }
    }

    #[test]
    fn a_rate_outside_0_1_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2]));
        for rate in [-0.1f32, 1.0, 1.5, f32::NAN] {
            let err = x
                .dropout(rate, true, &mut Rng::new(0))
                .unwrap_err()
                .to_string();
            assert!(err.contains("dropout") && err.contains("[0, 1)"), "{err}");
        }
        // The rate is checked in inference mode too: a bad model fails at once.
        assert!(x.dropout(1.0, false, &mut Rng::new(0)).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_with_a_fixed_mask(s in shape(3, 4), rate in 0.0f32..0.9, seed in 0u64..1000) {
            let x = random(&s, -1.0, 1.0, seed);
            // gradcheck calls f many times: a fresh Rng from the same seed in each call draws
            // the same mask every time, so f is one fixed function of x.
            gradcheck("dropout", |v| v[0].dropout(rate, true, &mut Rng::new(seed)), &[x]).unwrap();
        }
    }
}
