#!/usr/bin/env bash
# Side-by-side epoch times: PyTorch (torch_ref.py) and astrograd (bench_epochs), interleaved, ROUNDS rounds.
# Usage: side_by_side.sh BENCH_EPOCHS_BINARY [workloads...]; PY=python with torch; prints JSON lines + ratios.
# BENCH_EPOCHS_BINARY is astrograd's timer, built by `cargo build --release --example bench_epochs`
# (target/release/examples/bench_epochs); give it as an absolute path (the script changes directory).
BIN=$1; shift; WL=${*:-s1_mlp s2_cnn g10_cnn cd_cnn}; PY=${PY:-python3}; ROUNDS=${ROUNDS:-2}; EP=${EP:-3}
cd "$(dirname "$0")"
for r in $(seq $ROUNDS); do for w in $WL; do
  t=$(OMP_NUM_THREADS=2 $PY torch_ref.py $w $EP 2>/dev/null | grep '^{' | tail -1)
  a=$($BIN --workload $w --epochs $EP --json 2>/dev/null | grep '^{' | tail -1)
  echo "$t"; echo "$a"
  python3 -c "import json,sys; a=json.loads(sys.argv[1]); t=json.loads(sys.argv[2]); print('RATIO', sys.argv[3], a['epoch_s'], t['epoch_s'], round(a['epoch_s']/t['epoch_s'],3))" "$a" "$t" $w
done; done
