//! The fast paths of the CPU kernels: what this machine can do quicker than the textbook loops.
//!
//! Every kernel file of `cpu/` opens with the plain algorithm, which runs on any CPU; this folder
//! holds the variants that buy speed, each reached from its textbook file through one hook that
//! says when it applies:
//!
//! | textbook file | hook | fast path | taken when |
//! |---|---|---|---|
//! | `cpu/gemm.rs` | `fast::gemm::multiply` | `gemm_short.rs`, `gemm_narrow.rs` | AVX-512, and `C` has ≤ 32 rows or ≤ 16 columns |
//! | `cpu/conv.rs` | `fast::conv::*` | `conv.rs`: tiled im2col in two layouts, 1×1 as one GEMM, and `conv_direct.rs` (AVX-512) | always (the direct kernel: AVX-512, stride 1, dilation 1) |
//! | `cpu/pool.rs` | `fast::pool::*` | `pool.rs`: unrolled 2×2 windows, outputs written once, AVX-512 twins | max pooling (its backward: windows that do not overlap) |
//!
//! plus two helpers the other kernel files use directly: `vectorised` (compile a loop a second time
//! for AVX-512) and `uninit.rs` (fresh outputs that nothing zeroes first).
//!
//! # The switch: `ASTROGRAD_KERNELS`
//!
//! | value | effect |
//! |---|---|
//! | unset, `fast` | the fast paths, where this CPU has what they need |
//! | `portable` | the textbook paths only, on any CPU (CI runs the tests once more so) |
//! | anything else | a warning on standard error, once; then as unset |
//!
//! It is read once, on the first kernel call, and kept for the life of the process. Both paths
//! compute the same sums, but not always in the same order, so their results may differ in the
//! last bits; each path on its own is bit-identical whatever the number of threads.
//!
//! Dependencies point one way: a textbook file may call into `fast/`, never the other way;
//! what both need (the geometry, the matrix view `MatRef` of `cpu/matrix.rs`, the GEMM
//! itself) lives outside the textbook files that hold the hooks.
use std::sync::OnceLock;

pub(crate) mod conv;
#[cfg(target_arch = "x86_64")]
mod conv_direct;
pub(crate) mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_narrow;
#[cfg(target_arch = "x86_64")]
mod gemm_short;
pub(crate) mod pool;
pub(crate) mod uninit;

/// The environment variable that selects the kernels.
pub const ENV_VAR: &str = "ASTROGRAD_KERNELS";

/// Which kernels run: the value of `ASTROGRAD_KERNELS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The fast paths where the CPU has what they need (the default).
    Fast,
    /// The textbook paths only.
    Portable,
}

/// The mode a value of `ASTROGRAD_KERNELS` asks for, and whether the value was one this crate
/// knows (unset, `fast` or `portable`, in any case and with spaces around).
///
/// ```
/// use astrograd_kernels::cpu::fast::{parse_mode, Mode};
/// assert_eq!(parse_mode(None), (Mode::Fast, true));
/// assert_eq!(parse_mode(Some(" Portable ")), (Mode::Portable, true));
/// assert_eq!(parse_mode(Some("slow")), (Mode::Fast, false));
/// ```
pub fn parse_mode(value: Option<&str>) -> (Mode, bool) {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("fast") => (Mode::Fast, true),
        Some("portable") => (Mode::Portable, true),
        Some(_) => (Mode::Fast, false),
    }
}

/// The mode of this process: `ASTROGRAD_KERNELS`, read on the first call and then kept.
pub fn mode() -> Mode {
    static MODE: OnceLock<Mode> = OnceLock::new();
    *MODE.get_or_init(|| {
        let value = std::env::var(ENV_VAR).ok();
        let (mode, known) = parse_mode(value.as_deref());
        if !known {
            eprintln!(
                "astrograd: {ENV_VAR}={:?} is neither 'fast' nor 'portable'; using the fast kernels",
                value.unwrap_or_default()
            );
        }
        mode
    })
}

/// Whether the fast paths are on: false under `ASTROGRAD_KERNELS=portable`. The hooks of the
/// textbook files ask this (or [`avx512`]) before they leave for a fast path.
pub fn enabled() -> bool {
    mode() == Mode::Fast
}

/// Whether the fast paths are on and this CPU has AVX-512F: the condition of every hook whose
/// fast path is written with AVX-512 instructions.
pub fn avx512() -> bool {
    enabled() && cpu_has_avx512()
}

/// Whether this CPU has AVX-512F, whatever the switch says: what makes the AVX-512 kernels safe
/// to call (their own tests run them wherever they can run).
pub(crate) fn cpu_has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // The standard library caches the answer after the first call.
        is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `body`, compiled for AVX-512 when the fast paths are on and the CPU has it: `body` is
/// inlined into a function built with AVX-512 enabled, so that the loops in it use 16-lane
/// registers. The crate itself is built for the baseline x86-64 (SSE2), which runs on every
/// x86-64 CPU, and that is what `body` runs as otherwise.
#[inline]
pub(crate) fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: AVX-512F is present.
        return unsafe { with_avx512(body) };
    }
    body()
}

/// `body()` with AVX-512 enabled.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process runs the kernels its environment asks for, and says so (the parent test
    /// below runs it alone, by name, in child processes with each value of the variable).
    #[test]
    fn print_the_mode_of_this_process() {
        let asked = std::env::var(ENV_VAR).ok();
        assert_eq!(
            mode(),
            parse_mode(asked.as_deref()).0,
            "{ENV_VAR}={asked:?}"
        );
        println!("fast paths enabled: {}", enabled());
    }

    /// `ASTROGRAD_KERNELS` selects the kernels: this test runs the one above in child processes
    /// (so that the environment of the tests running beside it stays untouched) and reads what
    /// each child reports.
    #[test]
    fn the_switch_is_read_from_the_environment() {
        let child = |value: &str| -> bool {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "cpu::fast::tests::print_the_mode_of_this_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_VAR, value)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "the child failed: {stdout}");
            if stdout.contains("fast paths enabled: true") {
                true
            } else if stdout.contains("fast paths enabled: false") {
                false
            } else {
                panic!("the child did not report its mode: {stdout}")
            }
        };
        assert!(!child("portable"));
        assert!(child("fast"));
        assert!(child("some typo"));
    }

    #[test]
    fn values_of_the_switch() {
        assert_eq!(parse_mode(Some("fast")), (Mode::Fast, true));
        assert_eq!(parse_mode(Some("PORTABLE")), (Mode::Portable, true));
        assert_eq!(parse_mode(Some("")), (Mode::Fast, true));
        assert_eq!(parse_mode(Some("avx512")), (Mode::Fast, false));
    }
}
