// TEMPORARY: component timings while tuning; deleted before hand-off.
use astrograd_kernels::cpu::conv::*;
use std::time::Instant;

fn cpu_ns() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse::<f64>().unwrap()
}

/// Min over runs of the CPU time of this thread (robust to other processes on the machine).
fn med(mut f: impl FnMut() + Send) -> f64 {
    for _ in 0..2 {
        f();
    }
    let t = Instant::now();
    f();
    let reps = (0.08 / t.elapsed().as_secs_f64()).ceil().max(1.0) as usize;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = cpu_ns();
        for _ in 0..reps {
            f();
        }
        best = best.min((cpu_ns() - t) / 1e6 / reps as f64);
    }
    best
}

#[test]
#[ignore]
fn timing() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .unwrap();
    pool.install(timing_inner);
}
fn timing_inner() {
    for (name, n, h, c, f) in [
        ("fmnist", 32, 28, 1, 12),
        ("fm_f1", 32, 28, 1, 1),
        ("g10", 32, 69, 3, 12),
        ("g10_f1", 32, 69, 3, 1),
        ("cd1_f1", 20, 150, 3, 1),
        ("cd1", 20, 150, 3, 16),
        ("cd2", 20, 74, 16, 32),
        ("cd3", 20, 36, 32, 64),
    ] {
        let g = Conv2dGeometry::new([n, h, h, c], [3, 3, c, f], [1, 1], [1, 1], Padding::Valid)
            .unwrap();
        let x: Vec<f32> = (0..n * h * h * c).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..9 * c * f).map(|i| (i % 5) as f32 * 0.1).collect();
        let b = vec![0.1f32; f];
        let dy: Vec<f32> = (0..n * g.oh * g.ow * f)
            .map(|i| (i % 3) as f32 * 0.1)
            .collect();
        let mut y = vec![0.0; dy.len()];
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; w.len()];
        let mut db = vec![0.0; f];
        let tf = med(|| conv2d_forward(&g, &x, &w, Some(&b), &mut y));
        let ti = med(|| conv2d_backward_input(&g, &dy, &w, &mut dx));
        let tw = med(|| conv2d_backward_weight(&g, &x, &dy, &mut dw));
        let tb = med(|| conv2d_backward_bias(&g, &dy, &mut db));
        println!("{name:8} fwd {tf:7.3} ms  bwd_in {ti:7.3}  bwd_w {tw:7.3}  bwd_b {tb:6.3}  total {:7.3}", tf + ti + tw + tb);
    }
}

#[test]
#[ignore]
fn gemm_timing() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .unwrap();
    pool.install(gemm_inner);
}
fn gemm_inner() {
    use astrograd_kernels::cpu::gemm::*;
    for (m, k, n) in [
        (1024usize, 1024usize, 1024usize),
        (224, 288, 64),
        (2048, 27, 16),
        (4096, 9, 12),
        (2048, 144, 32),
    ] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32).collect();
        let mut c = vec![0.0; m * n];
        let reps = (1usize << 30) / (m * n * k) + 1;
        let ts = med(|| {
            for _ in 0..reps {
                gemm_serial(
                    MatRef::row_major(&a, m, k),
                    MatRef::row_major(&b, k, n),
                    0.0,
                    &mut c,
                )
            }
        });
        let tp = med(|| {
            for _ in 0..reps {
                gemm(
                    MatRef::row_major(&a, m, k),
                    MatRef::row_major(&b, k, n),
                    0.0,
                    &mut c,
                )
            }
        });
        let gf = |t: f64| 2.0 * (m * n * k * reps) as f64 / (t * 1e6);
        println!(
            "{m}x{k}x{n}: serial {:.1} GFLOP/s, gemm {:.1} GFLOP/s",
            gf(ts),
            gf(tp)
        );
    }
}
