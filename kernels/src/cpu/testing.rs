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
pub(crate) fn assert_close(fast: &[f32], slow: &[f32], rel_tol: f32, what: &str) {
    assert_eq!(fast.len(), slow.len(), "{what}: lengths differ");
    let scale = 1.0 + slow.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
        assert!(
            (a - b).abs() <= rel_tol * scale,
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
