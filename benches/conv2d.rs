//! conv2d forward, and forward + backward (input, weight and bias gradients), on the course's five
//! conv shapes — the same names and shapes as `bench/reference/conv_ref.py`, so the two can be
//! compared side by side. All are 3×3, stride 1, 'valid'. Throughput is the forward's FLOPs
//! (`2·N·OH·OW·F·KH·KW·C`), so criterion's "elem/s" reads as forward FLOP/s.
use astrograd_kernels::cpu::conv::{
    conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight, conv2d_forward,
};
use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

/// One course conv layer: input (n, h, w, c), `f` filters of 3×3.
struct ConvShape {
    name: &'static str,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    f: usize,
}

const SHAPES: [ConvShape; 5] = [
    ConvShape {
        name: "fmnist_28x28x1_f12_b32",
        n: 32,
        h: 28,
        w: 28,
        c: 1,
        f: 12,
    },
    ConvShape {
        name: "g10_69x69x3_f12_b32",
        n: 32,
        h: 69,
        w: 69,
        c: 3,
        f: 12,
    },
    ConvShape {
        name: "cd1_150x150x3_f16_b20",
        n: 20,
        h: 150,
        w: 150,
        c: 3,
        f: 16,
    },
    ConvShape {
        name: "cd2_74x74x16_f32_b20",
        n: 20,
        h: 74,
        w: 74,
        c: 16,
        f: 32,
    },
    ConvShape {
        name: "cd3_36x36x32_f64_b20",
        n: 20,
        h: 36,
        w: 36,
        c: 32,
        f: 64,
    },
];

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed) % 1000) as f32 - 500.0) / 500.0)
        .collect()
}

fn bench_conv2d(c: &mut Criterion) {
    // Which CPU, which kernels (ASTROGRAD_KERNELS) and how many threads (RAYON_NUM_THREADS).
    println!("conv2d on {}", astrograd_kernels::cpu::fast::describe());
    let mut group = c.benchmark_group("conv2d");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for s in &SHAPES {
        let g = Conv2dGeometry::new(
            [s.n, s.h, s.w, s.c],
            [3, 3, s.c, s.f],
            [1, 1],
            [1, 1],
            Padding::Valid,
        )
        .unwrap();
        let x = values(s.n * s.h * s.w * s.c, 1);
        let w = values(9 * s.c * s.f, 2);
        let b = values(s.f, 3);
        let dy = values(s.n * g.oh * g.ow * s.f, 4);
        let mut y = vec![0.0f32; dy.len()];
        let (mut dx, mut dw, mut db) = (
            vec![0.0f32; x.len()],
            vec![0.0f32; w.len()],
            vec![0.0f32; s.f],
        );
        group.throughput(Throughput::Elements(
            (2 * s.n * g.oh * g.ow * s.f * 9 * s.c) as u64,
        ));
        group.bench_function(format!("{}/fwd", s.name), |bench| {
            bench.iter(|| conv2d_forward(&g, &x, &w, Some(&b), &mut y));
        });
        group.bench_function(format!("{}/fwd_bwd", s.name), |bench| {
            bench.iter(|| {
                conv2d_forward(&g, &x, &w, Some(&b), &mut y);
                // Like PyTorch's, our backward kernels overwrite their gradients.
                conv2d_backward_input(&g, &dy, &w, &mut dx);
                conv2d_backward_weight(&g, &x, &dy, &mut dw);
                conv2d_backward_bias(&g, &dy, &mut db);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_conv2d);
criterion_main!(benches);
