//! Swish, also called SiLU: `out = x · σ(x)`.
//!
//! # Math
//! Product rule with `σ' = σ(1 − σ)`:
//! `∂out/∂x = σ(x) + x·σ(x)·(1 − σ(x)) = σ(x)·(1 + x·(1 − σ(x)))`,
//! so `dx = dout · σ(x)·(1 + x·(1 − σ(x)))` — the same expression as TF's `tf.nn.silu` gradient.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `x · σ(x)` elementwise (swish / SiLU). See [`swish`].
    pub fn swish(&self) -> Result<Var> {
        swish(self)
    }
}

/// `x · σ(x)` elementwise: `tf.keras.activations.swish(x)` (= `tf.nn.silu`, PyTorch's `SiLU`).
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn swish(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::Swish);
    Ok(Var::from_op("swish", y, &[x], move |dout| {
        Ok(vec![Some(swish_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · σ(x)·(1 + x·(1 − σ(x)))`.
pub fn swish_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Swish, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0, 1.0, -100.0, 100.0], &[4]).unwrap());
        let y = x.swish().unwrap();
        let values = y.value().to_vec().unwrap();
        assert_eq!(values[0], 0.0);
        assert!((values[1] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-7);
        // Large inputs: x·σ(x) tends to 0 (below) and to x (above), without overflow.
        assert!(values[2] <= 0.0 && values[2] > -1e-40);
        assert_eq!(values[3], 100.0);
        y.sum_all().unwrap().backward().unwrap();
        let dx = x.grad().unwrap().to_vec().unwrap();
        assert_eq!(dx[0], 0.5);
        assert!(dx[2].abs() < 1e-40);
        assert_eq!(dx[3], 1.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -4.0, 4.0, seed);
            gradcheck("swish", |v| v[0].swish(), &[x]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        crate::ops::testing::gpu_matches_cpu("swish", &[random(&[4, 5], -6.0, 6.0, 42)], |v| {
            v[0].swish().unwrap()
        });
    }
}
