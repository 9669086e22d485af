//! Hyperbolic tangent: `out = tanh x`.
//!
//! # Math
//! `tanh' x = 1 − tanh² x`, so the backward needs only the saved output:
//! `dx = dout · (1 − out²)`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `tanh x` elementwise. See [`tanh`].
    pub fn tanh(&self) -> Result<Var> {
        tanh(self)
    }
}

/// `tanh x` elementwise: `tf.keras.activations.tanh(x)`. Saturates at ±1 without overflow.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn tanh(x: &Var) -> Result<Var> {
    let y = x.value().unary(UnaryOp::Tanh);
    let saved_y = y.clone();
    Ok(Var::from_op("tanh", y, &[x], move |dout| {
        Ok(vec![Some(tanh_backward(dout, &saved_y)?)])
    }))
}

/// `dx = dout · (1 − y²)`, with `y = tanh x` saved by the forward.
pub fn tanh_backward(dout: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Tanh, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_saturation() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0, 100.0, -100.0], &[3]).unwrap());
        let y = x.tanh().unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 1.0, -1.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![1.0, 0.0, 0.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -3.0, 3.0, seed);
            gradcheck("tanh", |v| v[0].tanh(), &[x]).unwrap();
        }
    }
}
