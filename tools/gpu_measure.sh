#!/usr/bin/env bash
# The GPU table of docs/gpu.md, measured in one run: the four workloads of bench_epochs on the GPU
# and on the same machine's CPU, back to back, then the criterion GPU benches.
#
#   tools/gpu_measure.sh [OUT_DIR]          (default: gpu_measure/)
#
# It builds what it runs with cargo (`--features wgpu`), unless BENCH_EPOCHS and GPU_BENCH name
# binaries built elsewhere (a machine without a Rust toolchain: build here, copy them there).
# OUT_DIR gets machine.txt (CPU, GPU, driver), epochs.jsonl (one bench_epochs line per workload
# and device; `epoch_s` is the median epoch without the first) and criterion.txt.
set -u -o pipefail
out=${1:-gpu_measure}
mkdir -p "$out"
if [ -z "${BENCH_EPOCHS:-}" ]; then
    cargo build --release --features wgpu --example bench_epochs || exit 1
    BENCH_EPOCHS=target/release/examples/bench_epochs
fi
if [ -z "${GPU_BENCH:-}" ]; then
    GPU_BENCH=$(cargo bench --features wgpu --bench gpu --no-run 2>&1 |
        sed -n 's|.*Executable benches/gpu.rs (\(.*\))|\1|p')
    [ -n "$GPU_BENCH" ] || exit 1
fi

{
    date -u
    grep -m1 'model name' /proc/cpuinfo
    echo "cores: $(nproc)"
    grep -m1 -o 'avx512f' /proc/cpuinfo || echo "no avx512f"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
} | tee "$out/machine.txt"

# Three epochs each: the median of epochs 2 and 3, as the reference scripts take it.
for workload in s1_mlp s2_cnn g10_cnn cd_cnn; do
    for device in gpu cpu; do
        "$BENCH_EPOCHS" --workload "$workload" --epochs 3 --json --device "$device" |
            tee -a "$out/epochs.jsonl"
    done
done

"$GPU_BENCH" --bench --warm-up-time 1 2>&1 | tee "$out/criterion.txt"
