//! The fast paths of the CPU kernels: what this machine can do quicker than the textbook loops.
//!
//! Every kernel file of `cpu/` opens with the plain algorithm, which runs on any CPU; this folder
//! holds the variants that buy speed, each reached from its textbook file through one hook that
//! says when it applies:
//!
//! | textbook file | hook | fast path | taken when |
//! |---|---|---|---|
//! | `cpu/gemm.rs` | `fast::gemm::multiply` | `gemm_short.rs`, `gemm_narrow.rs` | AVX-512 or AVX2, and `C` has ≤ 32 rows or ≤ 16 columns |
//! | `cpu/conv.rs` | `fast::conv::*` | `conv.rs`: tiled im2col in two layouts, 1×1 as one GEMM, and `conv_direct.rs` (AVX-512 or AVX2) | always (the direct kernel: AVX-512 or AVX2, stride 1, dilation 1) |
//! | `cpu/pool.rs` | `fast::pool::*` | `pool.rs`: unrolled 2×2 windows, outputs written once, AVX-512 and AVX2 twins | max pooling (its backward: windows that do not overlap) |
//!
//! plus the vector interface the kernels are written in (`simd.rs`) and two helpers the other
//! kernel files use directly: `vectorised` (compile a loop again for AVX-512 and for AVX2) and
//! `uninit.rs` (fresh outputs that nothing zeroes first).
//!
//! # The switch: `ASTROGRAD_KERNELS`
//!
//! The fast kernels that use vector instructions are written once, over a small vector
//! interface (`simd.rs`), and compiled for each instruction set: AVX-512 (16 lanes) and
//! AVX2 + FMA (8 lanes). At run time each hook takes the widest set this CPU has, up to the cap
//! the variable sets:
//!
//! | value | effect |
//! |---|---|
//! | unset, `fast` | the fast paths, with the widest vector instructions this CPU has |
//! | `avx512` | the same, said explicitly |
//! | `avx2` | the fast paths with AVX2 + FMA at most: what a laptop without AVX-512 runs |
//! | `baseline` | the fast paths built for the baseline CPU only (SSE2 on x86-64): what a CPU without AVX2, or an ARM machine, runs |
//! | `portable` | the textbook paths only, on any CPU (CI runs the tests once more so) |
//! | anything else | a warning on standard error, once; then as unset |
//!
//! A cap above what the CPU has is no error: an AVX2 laptop asked for `avx512` runs AVX2. The
//! level in use is [`level`], and [`describe`] names it with the CPU (the benchmarks print it).
//! It is read once, on the first kernel call, and kept for the life of the process. The paths
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
#[cfg(target_arch = "x86_64")]
pub(crate) mod simd;
pub(crate) mod uninit;

/// The environment variable that selects the kernels.
pub const ENV_VAR: &str = "ASTROGRAD_KERNELS";

/// How far the kernels may go, from the textbook loops to the widest vector instructions. The
/// order is the order of the levels: `Portable < Baseline < Avx2 < Avx512`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The textbook paths only.
    Portable,
    /// The fast paths, built for the baseline CPU of the target (SSE2 on x86-64, NEON on aarch64
    /// as the compiler uses it), with no kernel of their own for a wider instruction set.
    Baseline,
    /// The fast paths, with the AVX2 + FMA kernels (8 lanes of f32).
    Avx2,
    /// The fast paths, with the AVX-512F kernels (16 lanes of f32).
    Avx512,
}

impl Level {
    /// The name `ASTROGRAD_KERNELS` takes for this level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The vector instruction sets that have kernels of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX2 with FMA: 8 lanes of f32, 16 registers.
    Avx2,
    /// AVX-512F: 16 lanes of f32, 32 registers.
    Avx512,
}

impl Isa {
    /// The instruction set of `level`, if it has kernels of its own.
    pub(crate) fn of(level: Level) -> Option<Isa> {
        match level {
            Level::Avx2 => Some(Isa::Avx2),
            Level::Avx512 => Some(Isa::Avx512),
            Level::Portable | Level::Baseline => None,
        }
    }
}

/// The cap a value of `ASTROGRAD_KERNELS` asks for, and whether the value was one this crate
/// knows (unset, `fast`, `avx512`, `avx2`, `baseline` or `portable`, in any case and with spaces
/// around).
///
/// ```
/// use astrograd_kernels::cpu::fast::{parse_level, Level};
/// assert_eq!(parse_level(None), (Level::Avx512, true));
/// assert_eq!(parse_level(Some(" AVX2 ")), (Level::Avx2, true));
/// assert_eq!(parse_level(Some("portable")), (Level::Portable, true));
/// assert_eq!(parse_level(Some("slow")), (Level::Avx512, false));
/// ```
pub fn parse_level(value: Option<&str>) -> (Level, bool) {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("fast") | Some("avx512") => (Level::Avx512, true),
        Some("avx2") => (Level::Avx2, true),
        Some("baseline") => (Level::Baseline, true),
        Some("portable") => (Level::Portable, true),
        Some(_) => (Level::Avx512, false),
    }
}

/// The widest level this CPU can run, whatever the switch says.
pub fn cpu_level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        // The standard library caches the answers after the first call.
        if is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// The level of this process: `ASTROGRAD_KERNELS` (read on the first call and then kept),
/// capped by what the CPU has.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let value = std::env::var(ENV_VAR).ok();
        let (cap, known) = parse_level(value.as_deref());
        if !known {
            eprintln!(
                "astrograd: {ENV_VAR}={:?} is none of fast, avx512, avx2, baseline, portable; \
                 using the fast kernels",
                value.unwrap_or_default()
            );
        }
        cap.min(cpu_level())
    })
}

/// Whether the fast paths are on: false under `ASTROGRAD_KERNELS=portable`. The hooks of the
/// textbook files ask this (or `isa()`, the instruction set of [`level`]) before they leave for
/// a fast path.
pub fn enabled() -> bool {
    level() > Level::Portable
}

/// The instruction set the vector kernels use in this process, if any.
pub(crate) fn isa() -> Option<Isa> {
    Isa::of(level())
}

/// Every instruction set this CPU can run the kernels of, widest first, whatever the switch
/// says: the kernels' own tests run each of them.
#[cfg(test)]
pub(crate) fn isas_here() -> Vec<Isa> {
    [Level::Avx512, Level::Avx2]
        .into_iter()
        .filter(|&l| l <= cpu_level())
        .filter_map(Isa::of)
        .collect()
}

/// The CPU's model name (from `/proc/cpuinfo` on Linux, `sysctl` on macOS), or `"unknown CPU"`.
pub fn cpu_model() -> String {
    let from_proc = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        });
    let from_sysctl = || {
        std::process::Command::new("sysctl")
            .args(["-n", "machdep.cpu.brand_string"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    from_proc
        .or_else(from_sysctl)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// One line that says where the kernels run: the CPU, the level in use (and the widest the CPU
/// has, when the switch holds it lower) and the threads of rayon's pool, e.g.
/// `Intel(R) Xeon(R) Processor, kernels avx2 (CPU has avx512), 2 threads`.
pub fn describe() -> String {
    let (used, best) = (level(), cpu_level());
    let cap = if used == best {
        String::new()
    } else {
        format!(" (CPU has {})", best.name())
    };
    let threads = rayon::current_num_threads();
    format!(
        "{}, kernels {}{cap}, {threads} thread{}",
        cpu_model(),
        used.name(),
        if threads == 1 { "" } else { "s" }
    )
}

/// Runs `body`, compiled for the widest vector instructions the level allows: `body` is inlined
/// into a function built with AVX-512 (or AVX2 + FMA) enabled, so that the loops in it use 16-
/// (or 8-) lane registers. The crate itself is built for the baseline x86-64 (SSE2), which runs
/// on every x86-64 CPU, and that is what `body` runs as otherwise.
#[inline]
pub(crate) fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match isa() {
        // SAFETY: the level never exceeds what the CPU has (`level`).
        Some(Isa::Avx512) => return unsafe { with_avx512(body) },
        // SAFETY: as above.
        Some(Isa::Avx2) => return unsafe { with_avx2(body) },
        None => {}
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

/// `body()` with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process runs the kernels its environment asks for, and says so (the parent test
    /// below runs it alone, by name, in child processes with each value of the variable).
    #[test]
    fn print_the_level_of_this_process() {
        let asked = std::env::var(ENV_VAR).ok();
        assert_eq!(
            level(),
            parse_level(asked.as_deref()).0.min(cpu_level()),
            "{ENV_VAR}={asked:?}"
        );
        println!("kernel level: {}.", level().name());
    }

    /// `ASTROGRAD_KERNELS` selects the kernels: this test runs the one above in child processes
    /// (so that the environment of the tests running beside it stays untouched) and reads what
    /// each child reports.
    #[test]
    fn the_switch_is_read_from_the_environment() {
        let child = |value: &str| -> Level {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "cpu::fast::tests::print_the_level_of_this_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_VAR, value)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "the child failed: {stdout}");
            [Level::Portable, Level::Baseline, Level::Avx2, Level::Avx512]
                .into_iter()
                .find(|l| stdout.contains(&format!("kernel level: {}.", l.name())))
                .unwrap_or_else(|| panic!("the child did not report its level: {stdout}"))
        };
        let best = cpu_level();
        assert_eq!(child("portable"), Level::Portable);
        assert_eq!(child("baseline"), Level::Baseline);
        assert_eq!(child("avx2"), Level::Avx2.min(best));
        assert_eq!(child("fast"), best);
        assert_eq!(child("avx512"), best);
        assert_eq!(child("some typo"), best);
    }

    #[test]
    fn values_of_the_switch() {
        assert_eq!(parse_level(Some("fast")), (Level::Avx512, true));
        assert_eq!(parse_level(Some("PORTABLE")), (Level::Portable, true));
        assert_eq!(parse_level(Some("")), (Level::Avx512, true));
        assert_eq!(parse_level(Some("Baseline")), (Level::Baseline, true));
        assert_eq!(parse_level(Some("sse4")), (Level::Avx512, false));
        assert!(Level::Portable < Level::Baseline && Level::Avx2 < Level::Avx512);
    }

    #[test]
    fn the_level_never_exceeds_the_cpu() {
        assert!(level() <= cpu_level());
        assert_eq!(isa().is_some(), level() >= Level::Avx2);
        let line = describe();
        assert!(line.contains(level().name()), "{line}");
        assert!(!cpu_model().is_empty());
    }
}
