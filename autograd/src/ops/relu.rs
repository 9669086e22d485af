//! Rectified linear unit: `out = max(x, 0)`.
//!
//! # Math
//! `∂out/∂x = [x > 0]`: `dx = dout · [x > 0]`. At the kink `x = 0` the gradient is 0, as TF's
//! `ReluGrad`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `max(x, 0)` elementwise. See [`relu`].
    pub fn relu(&self) -> Result<Var> {
        relu(self)
    }
}

/// `max(x, 0)` elementwise: Keras's `activation='relu'` (`tf.keras.activations.relu(x)`).
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn relu(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::Relu);
    Ok(Var::from_op("relu", y, &[x], move |dout| {
        Ok(vec![Some(relu_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · [x > 0]`.
pub fn relu_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Relu, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random_away_from_zero, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient_at_the_kink() {
        let x = Var::parameter(Tensor::from_vec(vec![-1.5, 0.0, 2.0], &[3]).unwrap());
        let y = x.relu().unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 0.0, 2.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![0.0, 0.0, 1.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            // Away from the kink at 0, where the finite difference straddles both slopes.
            let x = random_away_from_zero(&s, 0.1, 2.0, seed);
            gradcheck("relu", |v| v[0].relu(), &[x]).unwrap();
        }
    }
}
