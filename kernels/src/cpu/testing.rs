//! Helpers shared by the kernel tests: seeded data, tolerant comparison, fixed-size thread pools.

/// `len` numbers in `[-1, 1)`, reproducible from `seed` (a small xorshift generator, so the tests
/// need no RNG crate).
pub(crate) fn random_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Asserts `|fast − slow| ≤ rel_tol · (1 + max|slow|)` elementwise: the tolerance scales with the
/// magnitude of the result, since an f32 kernel and an f64 reference differ by rounding only.
/// A NaN on either side fails, and so does an infinity the other side does not match (the
/// scale is taken over finite values, so an infinity cannot widen the tolerance to ∞).
pub(crate) fn assert_close(fast: &[f32], slow: &[f32], rel_tol: f32, what: &str) {
    assert_eq!(fast.len(), slow.len(), "{what}: lengths differ");
    let scale = 1.0
        + slow
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
        let equal = a == b; // infinities of the same sign included; never a NaN
        assert!(
            equal || (a.is_finite() && b.is_finite() && (a - b).abs() <= rel_tol * scale),
            "{what}: element {i} is {a}, reference {b} (tolerance {})",
            rel_tol * scale
        );
    }
}

/// Runs `work` inside a rayon pool of exactly `threads` threads.
pub(crate) fn with_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(work)
}

#[cfg(test)]
mod tests {
    use super::assert_close;

    fn fails(fast: &[f32], slow: &[f32]) -> bool {
        std::panic::catch_unwind(|| assert_close(fast, slow, 1e-3, "planted")).is_err()
    }

    #[test]
    fn a_planted_nan_or_infinity_fails_the_comparison() {
        let reference = [1.0, -2.0, 0.5];
        assert!(!fails(&reference, &reference));
        assert!(!fails(&[1.0005, -2.0, 0.5], &reference));
        assert!(fails(&[1.1, -2.0, 0.5], &reference));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in 0..reference.len() {
                let mut planted = reference;
                planted[at] = bad;
                assert!(
                    fails(&planted, &reference),
                    "{bad} at {at} in the result passed"
                );
                assert!(
                    fails(&reference, &planted),
                    "{bad} at {at} in the reference passed"
                );
            }
        }
        assert!(fails(&[f32::NAN; 3], &[f32::NAN; 3]));
        // An infinity in the reference does not make every other difference pass.
        assert!(fails(&[f32::INFINITY, 5.0], &[f32::INFINITY, 1.0]));
    }
}
