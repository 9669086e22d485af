//! Helpers for the GPU parity tests: skip cleanly where no GPU exists (a plain `cargo test`
//! on a machine without Vulkan), fail where one is required (`ASTROGRAD_REQUIRE_GPU=1`, set by CI
//! once it has installed Mesa's lavapipe).

/// True if a GPU is there. Without one, prints why the GPU test is skipped — or panics when
/// `ASTROGRAD_REQUIRE_GPU` is set, so that CI cannot pass by skipping.
pub(crate) fn gpu_available() -> bool {
    match super::context() {
        Ok(_) => true,
        Err(e) if std::env::var_os("ASTROGRAD_REQUIRE_GPU").is_some() => {
            panic!("ASTROGRAD_REQUIRE_GPU is set but {e}")
        }
        Err(e) => {
            eprintln!("skipping a GPU test: {e}");
            false
        }
    }
}

/// Largest `|a − b| / (1 + |b|)` over two equally long slices.
pub(crate) fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared slices differ in length");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f32::max)
}

/// Deterministic numbers in `[-1, 1)` for test inputs.
pub(crate) fn numbers(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}
