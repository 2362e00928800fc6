#!/usr/bin/env bash
# `make demo`: the main job end to end on the real IMDB data:
#   corpus -> clean -> vocab (min-freq 2, GloVe 6B 50d) -> encode (whole reviews: packed training
#   costs nothing for pads, so nothing is truncated)
#   -> fit (bi-GRU, hidden 128, dropout 0.5 before the linear layer as in the reference model and
#      0.3 on the embedded tokens, 3 epochs, batch 32, seed 42, 80/20 train/validation split; Adam
#      lr 0.002 halved after each epoch; the settings were chosen on the validation split, see README)
#   -> classify the 25,000 test reviews with the best checkpoint (--metrics).
# Data come from ../shared/data, or are downloaded from their public homes when absent.
# Outputs (vocabulary, encoded data, checkpoint, log, curves, predictions) go to out/demo.
# RNN_DEMO_FIT_ARGS overrides the model options (e.g. "--cell lstm --bidirectional").
# RNN_DEMO_FIT_LAUNCHER runs rnn-fit under a launcher, e.g. data-parallel on 2 processes
# (docs/SCALING.md): RNN_DEMO_FIT_LAUNCHER="mpirun -np 2 --oversubscribe" RNN_DEMO_FIT_ARGS="--cell gru
# --bidirectional --hidden 128 --threads 1".
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-.build/release}
export PATH="$BIN:$PATH"
DATA=${RNN_DATA:-../shared/data}
OUT=${RNN_DEMO_OUT:-out/demo}
mkdir -p "$OUT"

fetch() {  # fetch FILE URL: use the local copy, else download it into $OUT
  if [ -f "$DATA/$1" ]; then echo "$DATA/$1"; return; fi
  if [ ! -f "$OUT/$1" ]; then
    echo "demo: $DATA/$1 not found, downloading $2" >&2
    curl -fL --retry 3 -o "$OUT/$1.part" "$2" && mv "$OUT/$1.part" "$OUT/$1"
  fi
  echo "$OUT/$1"
}
IMDB=$(fetch aclImdb_v1.tar.gz http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz)
if [ -f "$DATA/glove.6B.50d.txt.gz" ]; then GLOVE="$DATA/glove.6B.50d.txt.gz"
elif [ -f "$OUT/glove.6B.50d.txt.gz" ]; then GLOVE="$OUT/glove.6B.50d.txt.gz"
else
  echo "demo: GloVe not found, downloading https://nlp.stanford.edu/data/glove.6B.zip (822 MB)" >&2
  curl -fL --retry 3 -o "$OUT/glove.6B.zip" https://nlp.stanford.edu/data/glove.6B.zip
  unzip -p "$OUT/glove.6B.zip" glove.6B.50d.txt | gzip > "$OUT/glove.6B.50d.txt.gz"
  GLOVE="$OUT/glove.6B.50d.txt.gz"
fi

now() { date +%s%N; }
stage() { local ms=$(( ($(now) - $2) / 1000000 )); printf 'demo: %-32s %4d.%02d s\n' "$1" $((ms / 1000)) $((ms % 1000 / 10)) >&2; }
t0=$(now)

t=$(now)
rnn-corpus "$IMDB" --split train | rnn-clean > "$OUT/train.jsonl"
rnn-corpus "$IMDB" --split test | rnn-clean > "$OUT/test.jsonl"
echo "demo: records: train $(wc -l < "$OUT/train.jsonl"), test $(wc -l < "$OUT/test.jsonl")" >&2
stage "corpus | clean (train + test)" "$t"

t=$(now)
rnn-vocab --min-freq 2 --vectors "$GLOVE" "$OUT/train.jsonl" -o "$OUT/vocab.bin"
stage "vocab (min-freq 2, GloVe 50d)" "$t"

t=$(now)
rnn-encode --vocab "$OUT/vocab.bin" "$OUT/train.jsonl" -o "$OUT/train.bin"
rnn-encode --vocab "$OUT/vocab.bin" "$OUT/test.jsonl" -o "$OUT/test.bin"
stage "encode (train + test)" "$t"

stage "front end total" "$t0"

t=$(now)
# shellcheck disable=SC2086
${RNN_DEMO_FIT_LAUNCHER:-} rnn-fit "$OUT/train.bin" --vocab "$OUT/vocab.bin" ${RNN_DEMO_FIT_ARGS:---cell gru --bidirectional --hidden 128} \
  --head-dropout 0.5 --embed-dropout 0.3 --lr 0.002 --lr-decay 0.5 --epochs 3 --batch-size 32 --seed 42 --valid-split 0.2 \
  --log "$OUT/fit.jsonl" --plot "$OUT/curves.svg" -o "$OUT/best.ckpt"
stage "fit (3 epochs)" "$t"

t=$(now)
rnn-classify -m "$OUT/best.ckpt" --metrics --metrics-json "$OUT/metrics.json" --no-text "$OUT/test.jsonl" > "$OUT/predictions.jsonl"
stage "classify 25,000 test reviews" "$t"

stage "demo total" "$t0"
echo "demo: outputs in $OUT: best.ckpt, fit.jsonl, curves.svg, predictions.jsonl, metrics.json" >&2
