//! Negation: `out = −x`.
//!
//! # Math
//! `∂out/∂x = −1`, so `dx = −dout`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `−self`. See [`neg`].
    pub fn neg(&self) -> Result<Var> {
        neg(self)
    }
}

/// `−x`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn neg(x: &Var) -> Result<Var> {
    let out = x.value().neg();
    Ok(Var::from_op("neg", out, &[x], |dout| {
        Ok(vec![Some(neg_backward(dout))])
    }))
}

/// `dx = −dout`.
pub fn neg_backward(dout: &Tensor) -> Tensor {
    dout.neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -2.0, 2.0, seed);
            let y = neg(&Var::constant(x.clone())).unwrap().value();
            prop_assert_eq!(y, x.neg());
            gradcheck("neg", |v| v[0].neg(), &[x]).unwrap();
        }
    }
}
