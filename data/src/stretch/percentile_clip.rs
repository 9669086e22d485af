//! The percentile clip, astropy's `AsymmetricPercentileInterval(lower, upper)`.
//!
//! # Math
//! The p-th percentile as NumPy's default (`method="linear"`) computes it: sort the `n`
//! finite values `a₀ ≤ a₁ ≤ … ≤ aₙ₋₁`, then
//!
//! ```text
//! r   = p / 100 · (n − 1)
//! P_p = a⌊r⌋ + (r − ⌊r⌋) · (a⌊r⌋₊₁ − a⌊r⌋)
//! y   = clip((x − P_lower) / (P_upper − P_lower), 0, 1)
//! ```
//!
//! With `(1, 99)`, the faintest 1 % and the brightest 1 % of the pixels (noise dips, star
//! cores, cosmic rays) are clipped to 0 and 1, and the rest spreads over the whole range.
use super::rescale_to_unit;

/// The `p`-th percentile (0 ≤ p ≤ 100) of the finite values, NumPy's linear rule; `None`
/// when there are no finite values.
pub fn percentile(values: &[f32], p: f64) -> Option<f64> {
    percentile_of_sorted(&sorted_finite(values), p)
}

/// `(P_lower, P_upper)` of the finite values, sorting them once.
pub fn percentile_limits(values: &[f32], lower: f64, upper: f64) -> Option<(f64, f64)> {
    let sorted = sorted_finite(values);
    Some((
        percentile_of_sorted(&sorted, lower)?,
        percentile_of_sorted(&sorted, upper)?,
    ))
}

/// Clips `values` to their `lower`-th and `upper`-th percentiles and scales that range to
/// [0, 1], in place (NaN stays NaN).
pub fn percentile_clip(values: &mut [f32], lower: f64, upper: f64) {
    if let Some((vmin, vmax)) = percentile_limits(values, lower, upper) {
        rescale_to_unit(values, vmin, vmax);
    }
}

/// The finite values, widened to f64 and sorted.
fn sorted_finite(values: &[f32]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v))
        .collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// `P_p` of already sorted values (see the module doc).
fn percentile_of_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (p / 100.0).clamp(0.0, 1.0) * last as f64;
    let below = (rank.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let fraction = rank - below as f64;
    Some(sorted[below] + fraction * (sorted[above] - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ```python
    /// np.percentile([3, 1, 4, 1, 5, 9, 2, 6], [0, 10, 25, 50, 90, 100])
    /// # array([1.  , 1.  , 1.75, 3.5 , 6.9 , 9.  ])
    /// ```
    #[test]
    fn percentiles_are_numpys() {
        let values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, f32::NAN];
        let expected = [
            (0.0, 1.0),
            (10.0, 1.0),
            (25.0, 1.75),
            (50.0, 3.5),
            (90.0, 6.9),
            (100.0, 9.0),
        ];
        for (p, want) in expected {
            let got = percentile(&values, p).expect("finite values");
            assert!((got - want).abs() < 1e-12, "P{p}: {got} vs {want}");
        }
        assert_eq!(percentile(&[f32::NAN], 50.0), None);
        assert_eq!(percentile(&[2.5], 99.0), Some(2.5));
    }

    #[test]
    fn the_tails_are_clipped() {
        // 0..=100: P10 = 10, P90 = 90.
        let mut values: Vec<f32> = (0..=100).map(|v| v as f32).collect();
        percentile_clip(&mut values, 10.0, 90.0);
        assert_eq!(values[0], 0.0);
        assert_eq!(values[10], 0.0);
        assert_eq!(values[50], 0.5);
        assert_eq!(values[90], 1.0);
        assert_eq!(values[100], 1.0);
    }
}
