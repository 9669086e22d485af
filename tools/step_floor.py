#!/usr/bin/env python3
"""Where a training step's time goes, and the floor of an epoch with today's kernels.

Reads the output of `cargo bench --bench step_parts` (criterion's lines `step/<workload>/<i>/<kind>`
followed by `time: [low median high]`) and the JSON lines of `bench_epochs --json` (and, if given,
of PyTorch's `torch_ref.py`), and prints per workload: the median time of each kind of kernel in one
step (conv, pool, dense, adam), their sum (the floor of a step), the measured step
(epoch / steps), what is left (activations, losses, biases, the graph, data, allocator), and the
epoch's floor against PyTorch's epoch.

    cargo bench --bench step_parts > parts.txt
    target/release/examples/bench_epochs --workload cd_cnn --epochs 3 --json >> epochs.txt
    python3 tools/step_floor.py parts.txt epochs.txt [torch.txt]
"""
import json
import math
import re
import sys

# Optimizer steps per epoch of each bench_epochs workload (samples / batch, rounded up).
STEPS = {
    "s1_mlp": math.ceil(55000 / 32),
    "s2_cnn": math.ceil(48000 / 32),
    "g10_cnn": math.ceil(15685 / 32),
    "cd_cnn": math.ceil(400 / 20),
}
UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def parts(path):
    """{workload: {kind: ms}} from criterion's output: the medians, summed by kind."""
    out, name = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.search(r"step/(\w+)/\d+/(\w+)", line)
        if m:
            name = (m.group(1), m.group(2))
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            ms = float(t.group(1)) * UNITS[t.group(2)]
            kinds = out.setdefault(name[0], {})
            kinds[name[1]] = kinds.get(name[1], 0.0) + ms
            name = None
    return out


def epochs(path):
    """{workload: epoch_s} from JSON lines."""
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("{"):
            j = json.loads(line)
            out[j["workload"]] = j["epoch_s"]
    return out


def main():
    measured = parts(sys.argv[1])
    ours = epochs(sys.argv[2])
    torch = epochs(sys.argv[3]) if len(sys.argv) > 3 else {}
    print("| workload | conv | pool | dense | adam | floor / step | measured / step | rest "
          "| floor / epoch | measured epoch | PyTorch epoch | floor / PyTorch |")
    print("|---" * 12 + "|")
    for w, kinds in measured.items():
        floor = sum(kinds.values())
        steps = STEPS[w]
        step = ours.get(w, float("nan")) * 1e3 / steps
        t = torch.get(w)
        cells = [f"{kinds.get(k, 0.0):.2f}" for k in ("conv", "pool", "dense", "adam")]
        print(f"| {w} | " + " | ".join(cells) + f" | {floor:.2f} ms | {step:.2f} ms | "
              f"{step - floor:.2f} ms ({(step - floor) / step:.0%}) | {floor * steps / 1e3:.2f} s | "
              f"{ours.get(w, float('nan')):.2f} s | "
              + (f"{t:.2f} s | {floor * steps / 1e3 / t:.2f} |" if t else "— | — |"))


if __name__ == "__main__":
    main()
