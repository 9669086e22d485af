//! ReLU capped at 6: `out = min(max(x, 0), 6)` (MobileNetV2's activation).
//!
//! # Math
//! `∂out/∂x = [0 < x < 6]`: `dx = dout · [0 < x < 6]`. At both kinks (`x = 0`, `x = 6`) the
//! gradient is 0, as TF's `Relu6Grad`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `min(max(x, 0), 6)` elementwise. See [`relu6`].
    pub fn relu6(&self) -> Result<Var> {
        relu6(self)
    }
}

/// `min(max(x, 0), 6)` elementwise: Keras's `tf.keras.layers.ReLU(max_value=6.0)`, which is
/// `tf.nn.relu6`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn relu6(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::Relu6);
    Ok(Var::from_op("relu6", y, &[x], move |dout| {
        Ok(vec![Some(relu6_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · [0 < x < 6]`.
pub fn relu6_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Relu6, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient_at_the_kinks() {
        let x = Var::parameter(Tensor::from_vec(vec![-1.0, 0.0, 3.0, 6.0, 7.5], &[5]).unwrap());
        let y = x.relu6().unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 0.0, 3.0, 6.0, 6.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.0, 0.0, 1.0, 0.0, 0.0]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            // Values in [−2, 8] moved at least 0.1 away from the kinks at 0 and 6.
            let x = random(&s, -2.0, 8.0, seed)
                .map(|v| if v.abs() < 0.1 || (v - 6.0).abs() < 0.1 { v + 0.2 } else { v })
                .unwrap();
            gradcheck("relu6", |v| v[0].relu6(), &[x]).unwrap();
        }
    }
}
