"""PyTorch CPU (2 threads) conv2d forward and forward+backward times on the course's conv shapes.
usage: OMP_NUM_THREADS=2 python conv_ref.py
Prints one JSON line per shape: engine, shape, fwd_ms, fwd_bwd_ms (medians of 20 after 5 warm-ups),
gflops_fwd. 'valid' padding, stride 1; astrograd's `cargo bench --bench conv2d` times the same shapes."""
import json, time, statistics, torch
torch.set_num_threads(2); torch.manual_seed(0)
SHAPES = [  # name, N, H, W, C, F, k
    ("fmnist_28x28x1_f12_b32", 32, 28, 28, 1, 12, 3),
    ("g10_69x69x3_f12_b32", 32, 69, 69, 3, 12, 3),
    ("cd1_150x150x3_f16_b20", 20, 150, 150, 3, 16, 3),
    ("cd2_74x74x16_f32_b20", 20, 74, 74, 16, 32, 3),
    ("cd3_36x36x32_f64_b20", 20, 36, 36, 32, 64, 3),
]
def med(f, n=20, warm=5):
    for _ in range(warm): f()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3
for name, n, h, w, c, f, k in SHAPES:
    x = torch.randn(n, c, h, w, requires_grad=True); wt = torch.randn(f, c, k, k, requires_grad=True); b = torch.zeros(f, requires_grad=True)
    def fwd():
        with torch.no_grad(): torch.nn.functional.conv2d(x, wt, b)
    def fb():
        y = torch.nn.functional.conv2d(x, wt, b); y.backward(torch.ones_like(y))
    oh, ow = h - k + 1, w - k + 1
    gf = 2 * n * oh * ow * f * k * k * c / 1e9
    tf_, tfb = med(fwd), med(fb)
    print(json.dumps({"engine": "torch", "shape": name, "fwd_ms": round(tf_, 3), "fwd_bwd_ms": round(tfb, 3), "gflops_fwd": round(gf / (tf_ / 1e3), 1)}))
