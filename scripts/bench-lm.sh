#!/usr/bin/env bash
# Character language-model benchmark (issue targets in README/PLATFORM.md):
#   training steps/s for 2 layers x 512 LSTM, E=64, batch 32, seq 128 (rnn-fit --lm on
#   tiny-shakespeare, time budget STEPS_TIME, no validation), again with --bf16 where the CPU has
#   AVX512_BF16 (against PyTorch under bfloat16 autocast), and sampling chars/s at batch 1 for
#   2 x 512 and 1 x 100 (rnn-sample --length N > /dev/null, start-up included).
# If PyTorch is importable ($RNN_PYTHON, /work/venv/bin/python or python3) it runs the same
# workloads (scripts/reference/bench_lm_torch.py) in the same run and prints the ratios.
#   scripts/bench-lm.sh          (TRAIN_TIME=30s SAMPLE_BIG=5000 SAMPLE_SMALL=100000 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-$(swift build -c release --show-bin-path)}
DATA=${RNN_DATA:-../shared/data}/tinyshakespeare.txt
TRAIN_TIME=${TRAIN_TIME:-30s}
SAMPLE_BIG=${SAMPLE_BIG:-5000}
SAMPLE_SMALL=${SAMPLE_SMALL:-100000}
PY=""
for p in ${RNN_PYTHON:-} ${PYTHON:-} /work/venv/bin/python python3; do
    if "$p" -c "import torch" >/dev/null 2>&1; then PY=$p; break; fi
done
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (b > 0) printf "ratio %s: %.2fx PyTorch\n", n, a / b }'; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (other processes slow every number down)"

# Training: rate of the training steps only (the log's rate excludes evaluation); fp32, then
# --bf16 when this CPU has it (rnn-fit refuses it otherwise: the row is skipped).
for mode in fp32 bf16; do
    flag=""; [ "$mode" = bf16 ] && flag=--bf16
    if ! "$BIN/rnn-fit" --lm "$DATA" --cell lstm --layers 2 --hidden 512 --embed-dim 64 --batch-size 32 --seq-len 128 \
        --valid-split 0 --max-time "$TRAIN_TIME" --threads 2 $flag -o "$TMP/big-$mode.ckpt" --log "$TMP/train-$mode.jsonl" 2>"$TMP/err"; then
        echo "rnn-fit --lm $flag: skipped ($(tail -1 "$TMP/err"))"
        continue
    fi
    ours=$(grep -E '"event":"(epoch|eval)"' "$TMP/train-$mode.jsonl" | tail -1 | sed 's/.*"rate":\([0-9.e+]*\).*/\1/' | awk '{ printf "%.3f", $1 / (32 * 128) }')
    echo "rnn-fit --lm $flag train 2x512 batch 32 seq 128 ($mode): $ours steps/s"
    if [ -n "$PY" ]; then
        line=$("$PY" scripts/reference/bench_lm_torch.py train 10 $mode); echo "$line"
        t=$(echo "$line" | sed 's/.*: \([0-9.]*\) steps.*/\1/')
        ratio "$ours" "$t" "training 2x512 $mode"
    fi
done
cp "$TMP/big-fp32.ckpt" "$TMP/big.ckpt"

# Sampling (weights do not change the speed: a 1 s training run makes the checkpoints).
head -c 20000 "$DATA" > "$TMP/small.txt"
"$BIN/rnn-fit" --lm "$TMP/small.txt" --layers 1 --hidden 100 --embed-dim 64 --batch-size 8 --seq-len 64 \
    --valid-split 0 --max-time 1s -o "$TMP/small.ckpt" 2>/dev/null
for spec in "big 2x512 $SAMPLE_BIG 2 512" "small 1x100 $SAMPLE_SMALL 1 100"; do
    set -- $spec
    t0=$(now)
    "$BIN/rnn-sample" -m "$TMP/$1.ckpt" --length "$3" --seed 1 > /dev/null
    t1=$(now)
    ours=$(awk -v n="$3" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "rnn-sample $2: $ours chars/s ($3 chars)"
    if [ -n "$PY" ]; then
        n=$(( $3 < 3000 ? $3 : 3000 ))
        line=$("$PY" scripts/reference/bench_lm_torch.py sample "$4" "$5" "$n"); echo "$line"
        t=$(echo "$line" | sed 's/.*: \([0-9.]*\) chars.*/\1/')
        ratio "$ours" "$t" "sampling $2"
    fi
done
