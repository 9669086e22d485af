use astrograd_kernels::cpu::map::zip_map;
use std::time::Instant;
fn main() {
    let n = 20 * 148 * 148 * 16;
    let a: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 - 500.0).collect();
    let b: Vec<f32> = (0..n).map(|i| ((i * 13) % 1000) as f32 - 500.0).collect();
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let z = zip_map(&a, &b, |g, x| if x > 0.0 { g } else { 0.0 });
        t.push(s.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(z);
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "zip_map 7M: median {:.3} ms = {:.1} GB/s",
        t[15],
        (n * 12) as f64 / t[15] / 1e6
    );
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let mut z = Vec::with_capacity(n);
        z.extend(
            a.iter()
                .zip(&b)
                .map(|(&g, &x)| if x > 0.0 { g } else { 0.0 }),
        );
        t.push(s.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(z);
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "serial 7M: median {:.3} ms = {:.1} GB/s",
        t[15],
        (n * 12) as f64 / t[15] / 1e6
    );
}
