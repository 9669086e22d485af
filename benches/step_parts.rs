//! One training step of each `bench_epochs` workload, taken apart into its kernels: every
//! convolution (forward and gradients), every Dense layer (`x·W`, `dY·Wᵀ`, `xᵀ·dY`), every max
//! pooling (forward and backward) and the Adam update of all the parameters. Summed, they are the
//! floor a step cannot go below with these kernels; `bench_epochs`' time per step minus that sum
//! is what the rest costs (activations, losses, biases, the graph, the data, the allocator).
//! `docs/performance.md` has the table this bench fed.
//!
//! Run: `cargo bench --bench step_parts` (`-- cd_cnn` for one workload).
use astrograd_kernels::cpu::conv::{
    conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight, conv2d_forward,
};
use astrograd_kernels::cpu::gemm::{gemm, MatRef};
use astrograd_kernels::cpu::optimizer::{adam_update, AdamStep};
use astrograd_kernels::cpu::pool::{max_pool2d_backward, max_pool2d_forward};
use astrograd_kernels::geometry::{Conv2dGeometry, Padding, Pool2dGeometry};
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// This program installs astrograd's allocator, as the examples do.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

/// One layer of a workload's step.
enum Part {
    /// A 3×3 'valid' convolution on `[n, h, w, c]` to `f` filters; `first`: no input gradient.
    Conv {
        input: [usize; 4],
        f: usize,
        first: bool,
    },
    /// 2×2 max pooling of `[n, h, w, c]`.
    Pool { input: [usize; 4] },
    /// A Dense layer: batch `m`, `k` inputs, `n` units; `first`: no input gradient.
    Dense {
        m: usize,
        k: usize,
        n: usize,
        first: bool,
    },
    /// Adam over this many parameters.
    Adam { parameters: usize },
}

/// The workloads of `bench_epochs`, layer by layer.
fn workloads() -> Vec<(&'static str, Vec<Part>)> {
    use Part::*;
    vec![
        (
            "s1_mlp",
            vec![
                Dense {
                    m: 32,
                    k: 784,
                    n: 300,
                    first: true,
                },
                Dense {
                    m: 32,
                    k: 300,
                    n: 100,
                    first: false,
                },
                Dense {
                    m: 32,
                    k: 100,
                    n: 10,
                    first: false,
                },
                Adam {
                    parameters: 266_610,
                },
            ],
        ),
        (
            "s2_cnn",
            vec![
                Conv {
                    input: [32, 28, 28, 1],
                    f: 12,
                    first: true,
                },
                Pool {
                    input: [32, 26, 26, 12],
                },
                Dense {
                    m: 32,
                    k: 2028,
                    n: 128,
                    first: false,
                },
                Dense {
                    m: 32,
                    k: 128,
                    n: 10,
                    first: false,
                },
                Adam {
                    parameters: 261_122,
                },
            ],
        ),
        (
            "g10_cnn",
            vec![
                Conv {
                    input: [32, 69, 69, 3],
                    f: 12,
                    first: true,
                },
                Pool {
                    input: [32, 67, 67, 12],
                },
                Dense {
                    m: 32,
                    k: 13_068,
                    n: 500,
                    first: false,
                },
                Dense {
                    m: 32,
                    k: 500,
                    n: 100,
                    first: false,
                },
                Dense {
                    m: 32,
                    k: 100,
                    n: 10,
                    first: false,
                },
                Adam {
                    parameters: 6_585_946,
                },
            ],
        ),
        (
            "cd_cnn",
            vec![
                Conv {
                    input: [20, 150, 150, 3],
                    f: 16,
                    first: true,
                },
                Pool {
                    input: [20, 148, 148, 16],
                },
                Conv {
                    input: [20, 74, 74, 16],
                    f: 32,
                    first: false,
                },
                Pool {
                    input: [20, 72, 72, 32],
                },
                Conv {
                    input: [20, 36, 36, 32],
                    f: 64,
                    first: false,
                },
                Pool {
                    input: [20, 34, 34, 64],
                },
                Dense {
                    m: 20,
                    k: 18_496,
                    n: 512,
                    first: false,
                },
                Dense {
                    m: 20,
                    k: 512,
                    n: 1,
                    first: false,
                },
                Adam {
                    parameters: 9_494_561,
                },
            ],
        ),
    ]
}

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed) % 1000) as f32 - 500.0) / 500.0)
        .collect()
}

/// Times `part` as `group/label`.
fn bench_part(
    group: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    label: &str,
    part: &Part,
) {
    match *part {
        Part::Conv { input, f, first } => {
            let g = Conv2dGeometry::new(input, [3, 3, input[3], f], [1, 1], [1, 1], Padding::Valid)
                .expect("a course conv");
            let x = values(input.iter().product(), 1);
            let w = values(9 * input[3] * f, 2);
            let b = values(f, 3);
            let dy = values(g.n * g.oh * g.ow * f, 4);
            let mut y = vec![0.0f32; dy.len()];
            let (mut dx, mut dw, mut db) =
                (vec![0.0f32; x.len()], vec![0.0; w.len()], vec![0.0; f]);
            group.bench_function(format!("{label}/conv"), |bench| {
                bench.iter(|| {
                    conv2d_forward(&g, &x, &w, Some(&b), &mut y);
                    if !first {
                        conv2d_backward_input(&g, &dy, &w, &mut dx);
                    }
                    conv2d_backward_weight(&g, &x, &dy, &mut dw);
                    conv2d_backward_bias(&g, &dy, &mut db);
                });
            });
        }
        Part::Pool { input } => {
            let g = Pool2dGeometry::new(input, [2, 2], [2, 2], Padding::Valid).expect("a pool");
            let x = values(input.iter().product(), 5);
            let dy = values(g.n * g.oh * g.ow * g.c, 6);
            group.bench_function(format!("{label}/pool"), |bench| {
                bench.iter(|| {
                    let (y, argmax) = max_pool2d_forward(&g, &x);
                    let dx = max_pool2d_backward(&g, &dy, &argmax).expect("argmax of its own");
                    (y, dx)
                });
            });
        }
        Part::Dense { m, k, n, first } => {
            let x = values(m * k, 7);
            let w = values(k * n, 8);
            let dy = values(m * n, 9);
            let (mut y, mut dx, mut dw) = (
                vec![0.0f32; m * n],
                vec![0.0f32; m * k],
                vec![0.0f32; k * n],
            );
            group.bench_function(format!("{label}/dense"), |bench| {
                bench.iter(|| {
                    gemm(
                        MatRef::row_major(&x, m, k),
                        MatRef::row_major(&w, k, n),
                        0.0,
                        &mut y,
                    );
                    if !first {
                        gemm(
                            MatRef::row_major(&dy, m, n),
                            MatRef::row_major(&w, k, n).t(),
                            0.0,
                            &mut dx,
                        );
                    }
                    gemm(
                        MatRef::row_major(&x, m, k).t(),
                        MatRef::row_major(&dy, m, n),
                        0.0,
                        &mut dw,
                    );
                });
            });
        }
        Part::Adam { parameters } => {
            let g = values(parameters, 10);
            let (mut w, mut m, mut v) = (
                values(parameters, 11),
                vec![0.0f32; parameters],
                vec![0.0f32; parameters],
            );
            let step = AdamStep {
                lr: 1e-3,
                one_minus_beta_1: 0.1,
                one_minus_beta_2: 0.001,
                epsilon: 1e-7,
                beta_1_power: 0.9,
                beta_2_power: 0.999,
                weight_decay: 0.0,
            };
            group.bench_function(format!("{label}/adam"), |bench| {
                bench.iter(|| adam_update(&mut w, &g, &mut m, &mut v, None, &step));
            });
        }
    }
}

fn bench_step_parts(c: &mut Criterion) {
    // Which CPU, which kernels (ASTROGRAD_KERNELS) and how many threads (RAYON_NUM_THREADS).
    println!("step parts on {}", astrograd_kernels::cpu::fast::describe());
    for (workload, parts) in workloads() {
        let mut group = c.benchmark_group(format!("step/{workload}"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        for (i, part) in parts.iter().enumerate() {
            bench_part(&mut group, &format!("{i}"), part);
        }
        group.finish();
    }
}

criterion_group!(benches, bench_step_parts);
criterion_main!(benches);
