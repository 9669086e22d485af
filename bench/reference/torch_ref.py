"""PyTorch CPU reference timings for the course workloads, 2 threads, same models as keras_ref.py.
usage: OMP_NUM_THREADS=2 python torch_ref.py WORKLOAD [epochs]   WORKLOAD in s1_mlp s2_cnn g10_cnn cd_cnn
prints one JSON line: engine, workload, epoch_s (median epoch wall time, first epoch excluded when
there are more than one), epochs (every epoch's time), test_acc (Fashion-MNIST workloads; else null).
The models end in logits: nn.CrossEntropyLoss and nn.BCEWithLogitsLoss are what Keras computes
from a final softmax or sigmoid (docs/keras-semantics.md, "The surprises")."""
import sys, time, json, numpy as np, torch, torch.nn as nn
torch.set_num_threads(2); torch.manual_seed(42)
from fmnist import load
w = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2

def glorot(m):
    for p in m.modules():
        if isinstance(p, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(p.weight); nn.init.zeros_(p.bias)

def run(model, x, y, xte, yte, bs, loss_fn, lr=1e-3):
    glorot(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    n = len(x); times = []
    for e in range(epochs):
        model.train(); t = time.perf_counter(); perm = torch.randperm(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            opt.zero_grad(); loss = loss_fn(model(x[idx]), y[idx]); loss.backward(); opt.step()
        times.append(time.perf_counter() - t)
    acc = None
    if xte is not None:
        model.eval()
        with torch.no_grad():
            acc = float((model(xte).argmax(1) == yte).float().mean())
    return times, acc

ce = nn.CrossEntropyLoss()
if w in ("s1_mlp", "s2_cnn"):
    (xtr, ytr), (xte, yte) = load()
    xtr = torch.tensor(xtr / 255.0, dtype=torch.float32); xte = torch.tensor(xte / 255.0, dtype=torch.float32)
    ytr = torch.tensor(ytr, dtype=torch.long); yte = torch.tensor(yte, dtype=torch.long)
    if w == "s1_mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
        times, acc = run(m, xtr[5000:], ytr[5000:], xte, yte, 32, ce)
    else:
        m = nn.Sequential(nn.Conv2d(1, 12, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))
        times, acc = run(m, xtr[:48000, None], ytr[:48000], xte[:, None], yte, 32, ce)
elif w == "g10_cnn":
    n = 15685
    x = torch.rand(n, 3, 69, 69); y = torch.randint(0, 10, (n,))
    m = nn.Sequential(nn.Conv2d(3, 12, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12 * 33 * 33, 500), nn.ReLU(),
                      nn.Linear(500, 100), nn.ReLU(), nn.Linear(100, 10))
    times, acc = run(m, x, y, None, None, 32, ce)
elif w == "cd_cnn":
    n = 400
    x = torch.rand(n, 3, 150, 150); y = torch.randint(0, 2, (n, 1)).float()
    m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 17 * 17, 512), nn.ReLU(),
                      nn.Linear(512, 1))
    times, acc = run(m, x, y, None, None, 20, nn.BCEWithLogitsLoss())
ts = times[1:] if len(times) > 1 else times
print(json.dumps({"engine": "torch", "workload": w, "epoch_s": float(np.median(ts)), "epochs": times, "test_acc": acc}))
