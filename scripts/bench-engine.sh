#!/bin/sh
# Engine benchmark: bi-LSTM and bi-GRU classifier (E=200, H=128, V=25,000), training at batch 32 and
# forward-only inference at batch 256, on IMDB-like random lengths (mean ~210, clipped to [10, 500],
# fixed seed). Prints reviews/s, real tokens/s and GFLOP/s; if PyTorch is importable, runs it on the
# same batches in the same run and prints the ratios. Then character-LM sampling at batch 1
# (Model.stepLM; LSTM 2x512 and 1x100) against PyTorch's best sampling loop. Each engine line is
# followed by its profile (where the time goes); every line has the peak RSS.
# PyTorch runs with glibc malloc tuned (no mmap, no trimming: the best it gets here, PLATFORM.md).
#   scripts/bench-engine.sh            (BATCHES=20 INFER_BATCHES=4 THREADS=2 CHARS=3000 to change;
#                                       PYTHON=... picks the interpreter with torch)
set -eu
cd "$(dirname "$0")/.."
BATCHES=${BATCHES:-20}
INFER_BATCHES=${INFER_BATCHES:-4}
THREADS=${THREADS:-2}
CHARS=${CHARS:-3000}
# glibc malloc tuned for PyTorch: large tensors freed and re-faulted every batch cost it ~1.7x
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
# Same flags as the Makefile, so this does not rebuild the package with different settings.
if [ -z "${RNN_BIN:-}" ]; then
    swift build -c release -Xswiftc -enable-testing --product rnn-bench-engine >/dev/null
    RNN_BIN="$(swift build -c release -Xswiftc -enable-testing --show-bin-path)"
fi
BIN="$RNN_BIN/rnn-bench-engine"
PY=""
for p in ${PYTHON:-} ${RNN_PYTHON:-} /work/venv/bin/python python3; do
    if "$p" -c "import torch, safetensors" >/dev/null 2>&1; then PY=$p; break; fi
done
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
rate() { sed -n 's/.*s\/batch, \([0-9.]*\) reviews\/s.*/\1/p' "$1" | tail -1; }
best() { sed -n 's/.*best batch \([0-9.]*\) reviews\/s.*/\1/p' "$1" | tail -1; }
chars() { sed -n 's/.* \([0-9.,]*\) chars\/s.*/\1/p' "$1" | tail -1 | tr -d ,; }
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for cell in lstm gru; do
    for mode in train infer; do
        if [ "$mode" = train ]; then n=$BATCHES; else n=$INFER_BATCHES; fi
        OPENBLAS_NUM_THREADS=$THREADS "$BIN" --cell $cell --mode $mode --batches "$n" --threads "$THREADS" --dump "$TMP/data.st" --profile | tee "$TMP/swift.txt"
        if [ -n "$PY" ]; then
            "$PY" scripts/reference/bench_torch.py $cell $mode "$TMP/data.st" | tee "$TMP/torch.txt"
            if [ "$mode" = train ]; then
                awk -v a="$(rate "$TMP/swift.txt")" -v b="$(rate "$TMP/torch.txt")" -v c="$(best "$TMP/swift.txt")" \
                    -v d="$(best "$TMP/torch.txt")" -v n="bi-$cell $mode" \
                    'BEGIN { printf "ratio %s: %.2fx PyTorch (best batches: %.2fx)\n", n, a / b, c / d }'
            else
                awk -v a="$(rate "$TMP/swift.txt")" -v b="$(sed -n 's/.*best: \([0-9.]*\) reviews.*/\1/p' "$TMP/torch.txt")" -v n="bi-$cell $mode" \
                    'BEGIN { printf "ratio %s: %.2fx PyTorch best mode\n", n, a / b }'
            fi
        fi
    done
done
# the demo's shape (make demo): bi-GRU, E=50 (GloVe 50d), V=52,000
OPENBLAS_NUM_THREADS=$THREADS "$BIN" --cell gru --mode train --embed 50 --vocab 52000 --batches "$BATCHES" --threads "$THREADS" \
    --dump "$TMP/data.st" --profile | tee "$TMP/swift.txt"
if [ -n "$PY" ]; then
    "$PY" scripts/reference/bench_torch.py gru train "$TMP/data.st" | tee "$TMP/torch.txt"
    awk -v a="$(rate "$TMP/swift.txt")" -v b="$(rate "$TMP/torch.txt")" -v c="$(best "$TMP/swift.txt")" -v d="$(best "$TMP/torch.txt")" \
        'BEGIN { printf "ratio bi-gru train E=50 V=52000: %.2fx PyTorch (best batches: %.2fx)\n", a / b, c / d }'
fi
for shape in "2 512" "1 100"; do
    set -- $shape
    OPENBLAS_NUM_THREADS=$THREADS "$BIN" --mode sample --layers "$1" --hidden "$2" --chars "$CHARS" --threads "$THREADS" --profile | tee "$TMP/swift.txt"
    if [ -n "$PY" ]; then
        "$PY" scripts/reference/bench_torch.py lstm sample "$1" "$2" "$CHARS" | tee "$TMP/torch.txt"
        awk -v a="$(chars "$TMP/swift.txt")" -v b="$(chars "$TMP/torch.txt")" -v n="lstm $1x$2 sample" \
            'BEGIN { printf "ratio %s: %.2fx PyTorch\n", n, a / b }'
    fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
