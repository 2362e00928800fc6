#!/usr/bin/env bash
# `make bench`: every benchmark of the suite, each printing ratios against a baseline measured in
# the same run (the Python reference for rnn-clean, PyTorch for the engine and language models
# when `import torch` works in $RNN_PYTHON, /work/venv/bin/python or python3).
# Run it on an otherwise idle machine: both cores are used deliberately.
set -uo pipefail
cd "$(dirname "$0")/.."
export RNN_BIN=${RNN_BIN:-.build/release}
status=0
for b in scripts/bench-clean.sh scripts/bench-vocab.sh scripts/bench-engine.sh scripts/bench-scaling.sh scripts/bench-mpi.sh scripts/bench-classify.sh scripts/bench-lm.sh; do
  if [ -x "$b" ]; then
    echo "== $b"
    "$b" || { echo "$b failed" >&2; status=1; }
    echo
  fi
done
exit $status
