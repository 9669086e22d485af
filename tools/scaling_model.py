#!/usr/bin/env python3
"""The scaling model of docs/distributed.md: predicted epoch time and efficiency of
data-parallel training on N processes, from the parameters of each course workload, its steps
per epoch and its measured single-process epoch (bench_epochs, 1 process x 2 threads).

    python3 tools/scaling_model.py s1_mlp=0.95 s2_cnn=1.95 g10_cnn=3.1 cd_cnn=1.3

Each argument is a workload and its measured epoch in seconds; the output is the Markdown
table that docs/distributed.md shows.

    t_allreduce(N) = 2(N-1)/N * 4P / bandwidth + 2(N-1) * latency      (a ring all-reduce)
    t_step(N)      = t_compute / N + t_allreduce(N)
    efficiency(N)  = t_compute / (N * t_step(N))
"""
import sys

# Parameters (model.summary()) and steps per epoch (samples / batch) of bench_epochs' workloads.
WORKLOADS = {
    "s1_mlp": (266_610, 60_000 / 32),
    "s2_cnn": (261_122, 60_000 / 32),
    "g10_cnn": (6_585_946, 15_685 / 32),
    "cd_cnn": (9_494_561, 2_000 / 20),
}
LATENCY_S = 5e-6
LINKS_GBIT = (10, 25, 100)
PROCESSES = (2, 4, 8, 16, 32, 64)


def step_time(t_compute, params, n, gbit):
    bytes_per_step = 2 * (n - 1) / n * 4 * params
    allreduce = bytes_per_step / (gbit * 1e9 / 8) + 2 * (n - 1) * LATENCY_S
    return t_compute / n + allreduce


def main(argv):
    measured = dict(arg.split("=") for arg in argv)
    header = "| workload (MB per all-reduce) | link | " + " | ".join(f"N = {n}" for n in PROCESSES) + " |"
    print(header)
    print("|" + "---|" * (2 + len(PROCESSES)))
    for name, (params, steps) in WORKLOADS.items():
        if name not in measured:
            continue
        t_compute = float(measured[name]) / steps
        for gbit in LINKS_GBIT:
            cells = []
            for n in PROCESSES:
                t = step_time(t_compute, params, n, gbit)
                efficiency = t_compute / (n * t)
                cells.append(f"{t * steps:.2f} s ({efficiency:.0%})")
            label = f"{name} ({4 * params / 1e6:.1f} MB)"
            print(f"| {label} | {gbit} Gb/s | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
