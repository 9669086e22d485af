//! Huber and mean-absolute-error losses on the host: the elementwise value and the gradients.
//!
//! # Math
//! With `e = p − t` the error of one prediction and `d` the length of the last axis (the loss of
//! a row is the mean of its `d` terms):
//!
//! ```text
//! Huber:  h(e) = ½e²          if |e| ≤ δ        h′(e) = e
//!              = δ|e| − ½δ²   otherwise         h′(e) = δ·sign(e)
//! MAE:    |e|                                   sign(e), with sign(0) = 0
//! dp_nj = dloss_n · h′(e_nj) / d
//! ```
//!
//! # Shapes
//! `error: (R·d)` (R rows of `d`), `dloss: (R)`, `dp: (R·d)`.
//!
//! Every function overwrites its output.

/// `h(e)` of every error: `out[i] = ½e²` inside `±δ`, `δ|e| − ½δ²` outside.
pub fn huber_values(error: &[f32], delta: f32, out: &mut [f32]) {
    debug_assert_eq!(error.len(), out.len());
    for (o, &e) in out.iter_mut().zip(error) {
        *o = if e.abs() <= delta {
            0.5 * e * e
        } else {
            delta * e.abs() - 0.5 * delta * delta
        };
    }
}

/// `dp_nj = dloss_n · h′(e_nj)/d`, with `h′(e) = e` inside `±δ` and `δ·sign(e)` outside.
pub fn huber_backward(dloss: &[f32], error: &[f32], d: usize, delta: f32, dp: &mut [f32]) {
    debug_assert_eq!(error.len(), dp.len());
    debug_assert_eq!(dloss.len() * d, error.len());
    for ((dp_row, e_row), &g) in dp.chunks_exact_mut(d).zip(error.chunks_exact(d)).zip(dloss) {
        for (dp, &e) in dp_row.iter_mut().zip(e_row) {
            let slope = if e.abs() <= delta {
                e
            } else {
                delta * e.signum()
            };
            *dp = slope * g / d as f32;
        }
    }
}

/// `dp_nj = dloss_n · sign(e_nj)/d`, with `sign(0) = 0`.
pub fn mean_absolute_error_backward(dloss: &[f32], error: &[f32], d: usize, dp: &mut [f32]) {
    debug_assert_eq!(error.len(), dp.len());
    debug_assert_eq!(dloss.len() * d, error.len());
    for ((dp_row, e_row), &g) in dp.chunks_exact_mut(d).zip(error.chunks_exact(d)).zip(dloss) {
        for (dp, &e) in dp_row.iter_mut().zip(e_row) {
            *dp = sign(e) * g / d as f32;
        }
    }
}

/// `+1`, `−1`, or `0` at `0` (unlike `f32::signum`, which gives `+1` at `+0`).
fn sign(e: f32) -> f32 {
    if e > 0.0 {
        1.0
    } else if e < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huber_is_quadratic_inside_delta_and_linear_outside() {
        let mut out = [9.0; 3];
        huber_values(&[0.5, -3.0, 1.0], 1.0, &mut out);
        assert_eq!(out, [0.125, 2.5, 0.5]);
        let mut dp = [9.0; 3];
        huber_backward(&[3.0], &[0.5, -3.0, 1.0], 3, 1.0, &mut dp);
        assert_eq!(dp, [0.5, -1.0, 1.0]);
    }

    #[test]
    fn mae_gradient_is_zero_at_the_kink() {
        let mut dp = [9.0; 4];
        mean_absolute_error_backward(&[2.0, 4.0], &[1.0, 0.0, -2.0, -0.0], 2, &mut dp);
        assert_eq!(dp, [1.0, 0.0, -2.0, 0.0]);
    }
}
