//! GEMM throughput: `C = A·B` for square sizes 256, 512, 1024, all threads of the rayon pool.
//! Throughput is `2·m·n·k` elements, so criterion's "elem/s" reads as FLOP/s.
use astrograd_kernels::cpu::gemm::{gemm, MatRef};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

fn bench_gemm(c: &mut Criterion) {
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

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
