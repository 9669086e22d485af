//! Helpers for the GPU parity tests: skip cleanly where no GPU exists (a plain `cargo test`
//! on a machine without Vulkan), fail where one is required (`ASTROGRAD_REQUIRE_GPU=1`, set by CI
//! once it has installed Mesa's lavapipe); see [`crate::test_env`].
use crate::test_env;

/// True if a GPU is there. Without one, records the skip ([`test_env::skip`]) — or panics when
/// `ASTROGRAD_REQUIRE_GPU` requires a GPU, so that CI cannot pass by skipping.
pub(crate) fn gpu_available() -> bool {
    match super::context() {
        Ok(_) => true,
        Err(e) => {
            test_env::skip(test_env::REQUIRE_GPU, &format!("no GPU: {e}"));
            false
        }
    }
}

/// The standard output of the test `name` of this test binary, run alone in a child process
/// with `variable` set to `value` (removed for `None`): how a test sees what a variable does
/// that is read once, when the GPU opens. Asserts that the child passed.
pub(crate) fn child_test_output(name: &str, variable: &str, value: Option<&str>) -> String {
    let mut command =
        std::process::Command::new(std::env::current_exe().expect("the test binary's path"));
    command.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    match value {
        Some(value) => command.env(variable, value),
        None => command.env_remove(variable),
    };
    let out = command.output().expect("run the test binary");
    assert!(out.status.success(), "the child {name} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Largest `|a − b| / (1 + |b|)` over two equally long slices; infinite as soon as either side
/// holds a NaN, or an infinity the other side does not match, so that a kernel writing NaN
/// cannot pass a `max_rel_diff(..) < tol` check (`f32::max` would drop the NaN).
pub(crate) fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared slices differ in length");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x == y {
                0.0 // equal, infinities of the same sign included
            } else if !x.is_finite() || !y.is_finite() {
                f32::INFINITY
            } else {
                (x - y).abs() / (1.0 + y.abs())
            }
        })
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

#[cfg(test)]
mod tests {
    use super::max_rel_diff;

    #[test]
    fn a_planted_nan_or_infinity_fails_the_comparison() {
        let reference = [1.0, -2.0, 0.5, 3.0];
        assert_eq!(max_rel_diff(&reference, &reference), 0.0);
        assert!((max_rel_diff(&[1.0, -2.0, 0.5, 3.5], &reference) - 0.125).abs() < 1e-6);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in 0..reference.len() {
                let mut planted = reference;
                planted[at] = bad;
                // On either side, anywhere: the difference is infinite, no tolerance passes it.
                assert_eq!(max_rel_diff(&planted, &reference), f32::INFINITY);
                assert_eq!(max_rel_diff(&reference, &planted), f32::INFINITY);
            }
        }
        let all_nan = [f32::NAN; 4];
        assert!(max_rel_diff(&all_nan, &reference) > 1e-3);
        assert!(max_rel_diff(&all_nan, &all_nan) > 1e-3);
        // Matching infinities are equal values, not an error.
        assert_eq!(max_rel_diff(&[f32::INFINITY], &[f32::INFINITY]), 0.0);
    }
}
