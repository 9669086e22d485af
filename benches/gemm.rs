//! GEMM throughput, all threads of the rayon pool: `C = A·B` for square sizes 256, 512, 1024
//! (group `gemm`), and the Dense layers of the course CNNs — a batch times the kernel, and the
//! input gradient `dY·Wᵀ` (group `gemm_dense`).
//! Throughput is `2·m·n·k` elements, so criterion's "elem/s" reads as FLOP/s.
use astrograd_kernels::cpu::gemm::{gemm, MatRef};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

fn bench_gemm(c: &mut Criterion) {
    // Which CPU, which kernels (ASTROGRAD_KERNELS) and how many threads (RAYON_NUM_THREADS).
    println!("gemm on {}", astrograd_kernels::cpu::fast::describe());
    let mut group = c.benchmark_group("gemm");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for size in [256usize, 512, 1024] {
        let a: Vec<f32> = (0..size * size)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 6.0)
            .collect();
        let b: Vec<f32> = (0..size * size)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0)
            .collect();
        let mut out = vec![0.0f32; size * size];
        group.throughput(Throughput::Elements((2 * size * size * size) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |bench, &n| {
            bench.iter(|| {
                gemm(
                    MatRef::row_major(&a, n, n),
                    MatRef::row_major(&b, n, n),
                    0.0,
                    &mut out,
                )
            });
        });
    }
    group.finish();
}

/// The Dense layers of the course CNNs: `(batch, K)·(K, N)` forward and `(batch, N)·(K, N)ᵀ`.
fn bench_gemm_dense(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm_dense");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    // (name, batch, K inputs, N units)
    let layers = [
        ("s2_cnn_dense128", 32, 2028, 128),
        ("g10_cnn_dense500", 32, 13068, 500),
        ("cd_cnn_dense512", 20, 18496, 512),
    ];
    for (name, m, k, n) in layers {
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 6.0)
            .collect();
        let w: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0)
            .collect();
        let dy: Vec<f32> = (0..m * n)
            .map(|i| ((i * 3 % 7) as f32 - 3.0) / 3.0)
            .collect();
        let mut y = vec![0.0f32; m * n];
        let mut dx = vec![0.0f32; m * k];
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        group.bench_function(format!("{name}/x_w"), |bench| {
            bench.iter(|| {
                gemm(
                    MatRef::row_major(&x, m, k),
                    MatRef::row_major(&w, k, n),
                    0.0,
                    &mut y,
                )
            });
        });
        group.bench_function(format!("{name}/dy_wt"), |bench| {
            bench.iter(|| {
                gemm(
                    MatRef::row_major(&dy, m, n),
                    MatRef::row_major(&w, k, n).t(),
                    0.0,
                    &mut dx,
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gemm, bench_gemm_dense);
criterion_main!(benches);
