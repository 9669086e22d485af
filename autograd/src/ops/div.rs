//! Elementwise quotient with broadcasting: `out = a / b`.
//!
//! # Math
//! `∂out/∂a = 1/b`, `∂out/∂b = −a/b²`:
//! `da = sum_to_shape(dout / b, shape(a))`, `db = sum_to_shape(−dout · a / b², shape(b))`.
//!
//! # Shapes
//! `a`, `b`: shapes that broadcast; `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `self / other` elementwise, broadcasting. See [`div`].
    pub fn div(&self, other: &Var) -> Result<Var> {
        div(self, other)
    }
}

/// `a / b` elementwise, broadcasting. Division by zero follows IEEE (±∞, NaN), as numpy.
///
/// # Errors
/// A shape error naming `div` and both shapes if they do not broadcast.
pub fn div(a: &Var, b: &Var) -> Result<Var> {
    let (a_value, b_value) = (a.value(), b.value());
    let out = a_value.div(&b_value)?;
    Ok(Var::from_op("div", out, &[a, b], move |dout| {
        Ok(vec![
            Some(div_backward_a(dout, &a_value, &b_value)?),
            Some(div_backward_b(dout, &a_value, &b_value)?),
        ])
    }))
}

/// `da = sum_to_shape(dout / b, shape(a))`.
pub fn div_backward_a(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(dout.div(b)?.sum_to_shape(a.shape())?)
}

/// `db = sum_to_shape(−dout · a / b², shape(b))`.
pub fn div_backward_b(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // −a / b², with broadcasting, on either device.
    let a_over_b2 = a.div(&b.mul(b)?)?.neg();
    Ok(dout.mul(&a_over_b2)?.sum_to_shape(b.shape())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random, random_away_from_zero};
    use proptest::prelude::*;

    #[test]
    fn values() {
        let a = Var::constant(Tensor::from_vec(vec![1.0, 3.0], &[2]).unwrap());
        let b = Var::constant(Tensor::scalar(2.0));
        assert_eq!(a.div(&b).unwrap().value().to_vec().unwrap(), vec![0.5, 1.5]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            let a = random(&sa, -2.0, 2.0, seed);
            // Denominators kept away from 0, where 1/b is too steep for finite differences.
            let b = random_away_from_zero(&sb, 0.5, 2.0, seed + 1);
            gradcheck("div", |v| v[0].div(&v[1]), &[a, b]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        let a = random(&[2, 3], -2.0, 2.0, 46);
        let b = random_away_from_zero(&[3], 0.5, 2.0, 47);
        crate::ops::testing::gpu_matches_cpu("div", &[a, b], |v| v[0].div(&v[1]).unwrap());
    }
}
