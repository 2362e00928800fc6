#!/usr/bin/env bash
# rnn-classify: start-up (one review through `rnn-clean | rnn-classify`, a fresh process each
# time) and throughput on the 25,000 IMDB test reviews, with 1 and 2 threads; PyTorch's inference
# on the same checkpoint (first $TORCH_REVIEWS = 5000 reviews) for comparison when `import torch` works.
#
# Usage: scripts/bench-classify.sh [CKPT] [RUNS]     (RNN_BIN: folder of the built tools)
# Without CKPT, a bi-GRU (H=128) over the IMDB vocabulary (min-freq 2, GloVe 50d, fix-length 500)
# is exported with random weights by scripts/reference/export_torch_classifier.py: speed does not
# depend on the weights. Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${RNN_BIN:-$root/.build/release}"
data="${RNN_DATA:-$root/../shared/data}"
ckpt="${1:-}"
runs="${2:-20}"
py=""
for p in "${RNN_PYTHON:-}" /work/venv/bin/python python3; do
  if [ -n "$p" ] && "$p" -c "import torch, safetensors" 2>/dev/null; then py=$p; break; fi
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$bin/rnn-corpus" "$data/aclImdb_v1.tar.gz" --split test | "$bin/rnn-clean" > "$tmp/test.jsonl"
if [ -z "$ckpt" ]; then
  [ -n "$py" ] || { echo "bench-classify: give a checkpoint (no PyTorch to export a random one)" >&2; exit 1; }
  "$bin/rnn-corpus" "$data/aclImdb_v1.tar.gz" --split train | "$bin/rnn-clean" > "$tmp/train.jsonl"
  "$bin/rnn-vocab" --min-freq 2 --vectors "$data/glove.6B.50d.txt.gz" "$tmp/train.jsonl" -o "$tmp/v.bin" 2>/dev/null
  "$py" "$root/scripts/reference/export_torch_classifier.py" "$tmp/m.ckpt" --vocab "$tmp/v.bin" --model gru \
    --bidirectional --hidden 128 --fix-length 500 >/dev/null
  ckpt="$tmp/m.ckpt"
fi
printf 'checkpoint: %s (%s bytes)\n' "$ckpt" "$(stat -c %s "$ckpt")"

# Start-up: the mean wall time of a fresh `rnn-clean | rnn-classify` over one review.
corpus_line=$("$bin/rnn-corpus" "$data/aclImdb_v1.tar.gz" --split test 2>/dev/null | head -1 || true)
printf '%s\n' "$corpus_line" > "$tmp/one.jsonl"
ms() { echo "($(date +%s%N) - $1) / 1000000" | bc -l; }
"$bin/rnn-clean" < "$tmp/one.jsonl" | "$bin/rnn-classify" -m "$ckpt" -q > /dev/null  # warm the page cache
t0=$(date +%s%N)
for _ in $(seq "$runs"); do "$bin/rnn-clean" < "$tmp/one.jsonl" | "$bin/rnn-classify" -m "$ckpt" -q > /dev/null; done
printf 'start-up, one review through rnn-clean | rnn-classify: %.1f ms wall per run (mean of %d)\n' "$(echo "$(ms "$t0") / $runs" | bc -l)" "$runs"
head -1 "$tmp/test.jsonl" > "$tmp/one.clean.jsonl"
t0=$(date +%s%N)
for _ in $(seq "$runs"); do "$bin/rnn-classify" -m "$ckpt" -q "$tmp/one.clean.jsonl" > /dev/null; done
printf 'start-up, rnn-classify alone on one cleaned review:    %.1f ms wall per run\n' "$(echo "$(ms "$t0") / $runs" | bc -l)"

# Throughput on the 25,000 test reviews.
n=$(wc -l < "$tmp/test.jsonl")
for threads in 1 2; do
  /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$bin/rnn-classify" -m "$ckpt" --threads "$threads" --no-text -q "$tmp/test.jsonl" > "$tmp/out.$threads"
  read -r w u s m < "$tmp/time"
  printf 'rnn-classify, %d reviews, --threads %d: %.2f s wall = %.0f reviews/s (cpu %.2f s, peak %d MB)\n' \
    "$n" "$threads" "$w" "$(echo "$n / $w" | bc -l)" "$(echo "$u + $s" | bc -l)" "$((m / 1024))"
done
cmp -s "$tmp/out.1" "$tmp/out.2" && echo "outputs with 1 and 2 threads: identical" || echo "outputs with 1 and 2 threads: DIFFER"

if [ -n "$py" ]; then
  # PyTorch on the first $torch_n reviews (its padded mode is slow), compared with our output.
  torch_n=${TORCH_REVIEWS:-5000}
  head -n "$torch_n" "$tmp/test.jsonl" > "$tmp/torch.jsonl"
  head -n "$torch_n" "$tmp/out.2" > "$tmp/torch.out"
  "$py" "$root/scripts/reference/bench_torch_classify.py" "$ckpt" "$tmp/torch.jsonl" "$tmp/torch.out"
fi
