//! The machine's peak: fused multiply-adds and nothing else, on every thread of rayon's pool, at
//! each vector width this CPU has. Throughput is FLOP (2 per lane per FMA), so criterion's
//! "elem/s" reads as FLOP/s, the ceiling against which `cargo bench --bench conv2d` (whose
//! throughput is the forward pass's FLOP) is read: the share of peak a kernel reaches.
//!
//! Each thread keeps 12 independent chains `acc = acc·a + b` in registers, enough to cover the
//! FMA latency (4 cycles) on two FMA units.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;
use std::time::Duration;

/// Independent accumulator chains per thread.
const CHAINS: usize = 12;

/// FMA steps per chain and thread in one measured call.
const STEPS: usize = 200_000;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, STEPS};
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// `STEPS` rounds of 12 AVX-512 FMAs (16 lanes); returns a lane so that nothing is dropped.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512() -> f32 {
        // Values the compiler cannot see, so that it cannot fold the loop away.
        let (a, b) = (
            _mm512_set1_ps(black_box(0.999_9)),
            _mm512_set1_ps(black_box(1e-4)),
        );
        let mut acc = [_mm512_set1_ps(black_box(1.0)); CHAINS];
        for _ in 0..STEPS {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    /// `STEPS` rounds of 12 AVX2 FMAs (8 lanes).
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2() -> f32 {
        let (a, b) = (
            _mm256_set1_ps(black_box(0.999_9)),
            _mm256_set1_ps(black_box(1e-4)),
        );
        let mut acc = [_mm256_set1_ps(black_box(1.0)); CHAINS];
        for _ in 0..STEPS {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut lanes = [0.0f32; 8];
        let mut sum = 0.0;
        for x in acc {
            _mm256_storeu_ps(lanes.as_mut_ptr(), x);
            sum += lanes.iter().sum::<f32>();
        }
        sum
    }
}

fn bench_fma_peak(c: &mut Criterion) {
    use astrograd_kernels::cpu::fast::{cpu_level, describe, Level};
    println!("fma_peak on {}", describe());
    let threads = rayon::current_num_threads();
    let mut group = c.benchmark_group("fma_peak");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2));
    #[cfg(target_arch = "x86_64")]
    for (name, lanes, level, kernel) in [
        (
            "avx512",
            16,
            Level::Avx512,
            x86::avx512 as unsafe fn() -> f32,
        ),
        ("avx2", 8, Level::Avx2, x86::avx2 as unsafe fn() -> f32),
    ] {
        if cpu_level() < level {
            println!("fma_peak/{name}: this CPU has no {name}");
            continue;
        }
        group.throughput(Throughput::Elements(
            (threads * STEPS * CHAINS * lanes * 2) as u64,
        ));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                (0..threads)
                    .into_par_iter()
                    // SAFETY: the CPU has the level (checked above).
                    .map(|_| unsafe { kernel() })
                    .sum::<f32>()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fma_peak);
criterion_main!(benches);
