//! The GPU variants of `gemm` and `conv2d` (feature `wgpu`): the same sizes and course conv
//! shapes, each iteration ending with `synchronize()` so that criterion times the GPU's work,
//! not its recording. Data stays on the GPU between iterations, as in training.
//!
//! `cargo bench --features wgpu --bench gpu` (without a GPU driver it says so and times nothing;
//! GEMM 2048³ and 4096³ only on a hardware GPU, where `ASTROGRAD_GPU_LARGE_TILES=0` times them
//! on the 64×64 tiles instead of the 128×128 ones).
use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
use astrograd_kernels::wgpu::conv::{
    conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight, conv2d_forward,
};
use astrograd_kernels::wgpu::matmul::{matmul, MatmulGeometry};
use astrograd_kernels::wgpu::{context, synchronize, GpuBuffer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

/// The course's conv layers (as `benches/conv2d.rs` and `bench/reference/conv_ref.py`):
/// (name, N, H, W, C, F), all 3×3, stride 1, 'valid'.
const SHAPES: [(&str, usize, usize, usize, usize, usize); 5] = [
    ("fmnist_28x28x1_f12_b32", 32, 28, 28, 1, 12),
    ("g10_69x69x3_f12_b32", 32, 69, 69, 3, 12),
    ("cd1_150x150x3_f16_b20", 20, 150, 150, 3, 16),
    ("cd2_74x74x16_f32_b20", 20, 74, 74, 16, 32),
    ("cd3_36x36x32_f64_b20", 20, 36, 36, 32, 64),
];

fn values(len: usize, seed: usize) -> GpuBuffer {
    let host: Vec<f32> = (0..len)
        .map(|i| (((i * 7919 + seed) % 1000) as f32 - 500.0) / 500.0)
        .collect();
    GpuBuffer::upload(&host).expect("GPU opened in main")
}

fn bench_gpu(c: &mut Criterion) {
    let software = match context() {
        Ok(ctx) => {
            println!("GPU: {}", ctx.description());
            ctx.is_software()
        }
        Err(e) => {
            println!("no GPU benchmarks: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("gpu");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    // 2048³ and 4096³ (137 GFLOP a product) only on a hardware GPU: a software renderer takes
    // seconds. From 2048 rows and columns the product takes the 128×128 tiles
    // (`matmul_large.wgsl`); run again with ASTROGRAD_GPU_LARGE_TILES=0 to time the 64×64 ones.
    let sizes: &[usize] = if software {
        &[256, 1024]
    } else {
        &[256, 1024, 2048, 4096]
    };
    for &n in sizes {
        let (a, b, out) = (
            values(n * n, 1),
            values(n * n, 2),
            GpuBuffer::uninit(n * n).unwrap(),
        );
        let g = MatmulGeometry::row_major(1, n, n, n);
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.bench_function(format!("gemm/{n}"), |bench| {
            bench.iter(|| {
                matmul(&g, &a, &b, 0.0, &out).unwrap();
                synchronize().unwrap();
            });
        });
        // The wait for the GPU at the end of an iteration (about 1 ms) is a seventh of a
        // 4096³ product at 20 TFLOP/s: 8 products a wait say what the kernel itself reaches.
        if n == 4096 {
            const PRODUCTS: usize = 8;
            group.throughput(Throughput::Elements((PRODUCTS * 2 * n * n * n) as u64));
            group.bench_function(format!("gemm/{n}x{PRODUCTS}"), |bench| {
                bench.iter(|| {
                    for _ in 0..PRODUCTS {
                        matmul(&g, &a, &b, 0.0, &out).unwrap();
                    }
                    synchronize().unwrap();
                });
            });
        }
    }
    for (name, n, h, w, ch, f) in SHAPES {
        let g = Conv2dGeometry::new([n, h, w, ch], [3, 3, ch, f], [1, 1], [1, 1], Padding::Valid)
            .unwrap();
        let (x, k, bias) = (
            values(n * h * w * ch, 1),
            values(9 * ch * f, 2),
            values(f, 3),
        );
        let dy = values(n * g.oh * g.ow * f, 4);
        let y = GpuBuffer::uninit(n * g.oh * g.ow * f).unwrap();
        let (dx, dw, db) = (
            GpuBuffer::uninit(n * h * w * ch).unwrap(),
            GpuBuffer::uninit(9 * ch * f).unwrap(),
            GpuBuffer::uninit(f).unwrap(),
        );
        group.throughput(Throughput::Elements(
            (2 * n * g.oh * g.ow * f * 9 * ch) as u64,
        ));
        group.bench_function(format!("conv2d/{name}/fwd"), |bench| {
            bench.iter(|| {
                conv2d_forward(&g, &x, &k, Some(&bias), &y).unwrap();
                synchronize().unwrap();
            });
        });
        group.bench_function(format!("conv2d/{name}/dw"), |bench| {
            bench.iter(|| {
                conv2d_backward_weight(&g, &x, &dy, &dw).unwrap();
                synchronize().unwrap();
            });
        });
        group.bench_function(format!("conv2d/{name}/fwd_bwd"), |bench| {
            bench.iter(|| {
                conv2d_forward(&g, &x, &k, Some(&bias), &y).unwrap();
                conv2d_backward_input(&g, &dy, &k, &dx).unwrap();
                conv2d_backward_weight(&g, &x, &dy, &dw).unwrap();
                conv2d_backward_bias(&g, &dy, &db).unwrap();
                synchronize().unwrap();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gpu);
criterion_main!(benches);
