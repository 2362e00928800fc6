#!/usr/bin/env bash
# Thread scaling of the engine: bi-LSTM and bi-GRU classifier training (batch 32), bi-GRU
# classification (batch 256) and character-LM training (LSTM 2 x 512, batch 32, 128 steps), each at
# 1, 2, ..., MAX_THREADS threads (default: nproc), with speed-up and efficiency (speed-up / threads)
# per row. Run it on an otherwise idle machine: the figures are only as good as the cores are free.
#   scripts/bench-scaling.sh      (BATCHES=8 INFER_BATCHES=2 LM_STEPS=3 MAX_THREADS=n to change)
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHES=${BATCHES:-8}
INFER_BATCHES=${INFER_BATCHES:-2}
LM_STEPS=${LM_STEPS:-3}
MAX_THREADS=${MAX_THREADS:-$(nproc)}
if [ -z "${RNN_BIN:-}" ]; then
    swift build -c release -Xswiftc -enable-testing --product rnn-bench-engine >/dev/null
    RNN_BIN="$(swift build -c release -Xswiftc -enable-testing --show-bin-path)"
fi
BIN="$RNN_BIN/rnn-bench-engine"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "engine kernels: $("$BIN" --kernels)"
printf '%-34s %7s %12s %9s %11s\n' workload threads rate speed-up efficiency
row() {  # name unit threads rate base
    awk -v n="$1" -v u="$2" -v t="$3" -v r="$4" -v b="$5" \
        'BEGIN { s = r / b; printf "%-34s %7d %8.2f %-3s %8.2fx %10.0f%%\n", n, t, r, u, s, 100 * s / t }'
}
run() {  # name unit extract-sed args...
    local name=$1 unit=$2 pattern=$3; shift 3
    local base=""
    for t in $(seq 1 "$MAX_THREADS"); do
        local rate
        rate=$("$BIN" "$@" --threads "$t" | sed -n "$pattern" | tail -1)
        [ -n "$rate" ] || { echo "$name: no rate at $t threads" >&2; return 1; }
        [ -n "$base" ] || base=$rate
        row "$name" "$unit" "$t" "$rate" "$base"
    done
}
reviews='s/.*s\/batch, \([0-9.]*\) reviews\/s.*/\1/p'
run "bi-LSTM train (B=32, H=128)" rev/s "$reviews" --cell lstm --mode train --batches "$BATCHES"
run "bi-GRU train (B=32, H=128)" rev/s "$reviews" --cell gru --mode train --batches "$BATCHES"
run "bi-GRU classify (B=256, H=128)" rev/s "$reviews" --cell gru --mode infer --batches "$INFER_BATCHES"
run "LSTM 2x512 LM train (B=32, T=128)" step/s 's/.* \([0-9.]*\) steps\/s.*/\1/p' \
    --cell lstm --mode lmtrain --layers 2 --hidden 512 --batches "$LM_STEPS"
