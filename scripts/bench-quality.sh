#!/usr/bin/env bash
# `make bench-quality`: model quality on the IMDB split (issue 15), fastText's recipe and ours one
# after the other in one run, on the same cleaned records: test accuracy, training time,
# classification time (25,000 test reviews) and model size; ours with three seeds (mean and
# spread). Every choice in our recipe was made on the validation split (README, "Model quality").
#
# fastText (Debian package `fasttext`): word trigrams, 10 epochs, lr 0.5, 2 threads, the recipe
# the issue quotes. Ours: RNN_QUALITY_FIT_ARGS (default: the demo's bi-GRU recipe) on the
# encoded data, GloVe 6B 50d, min-freq 2, 20% of the training set validating (RNN_QUALITY_VALID_SPLIT).
#
# Environment: RNN_BIN (default .build/release), RNN_DATA (../shared/data), RNN_QUALITY_OUT
# (out/quality), RNN_QUALITY_SEEDS (default "1 2 3"), RNN_QUALITY_FIT_ARGS, RNN_QUALITY_LIMIT
# (records per split, for a quick try of the script; default all), RNN_QUALITY_MEMBERS (checkpoints
# per ensemble, default 1: one model per seed; with N > 1 each seed's row is an ensemble of N
# models, `rnn-classify -m a -m b ...`, whose training time is the sum of its members'),
# RNN_QUALITY_MEMBER_ARGS (options added to member k's, from a `|`-separated list taken in turn,
# e.g. "--pool concat|--pool last": an ensemble of different heads; default none),
# RNN_QUALITY_CLEAN_ARGS (rnn-clean options for the records both models read, e.g.
# "--punctuation separate"; default none: the reference cleaning), RNN_QUALITY_VALID_SPLIT (the
# share of the training set each member holds out for early stopping, seeded by its seed; default
# 0.2).
# Takes about (3 x the fit time + 2 min); it prints a Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-.build/release}
DATA=${RNN_DATA:-../shared/data}
OUT=${RNN_QUALITY_OUT:-out/quality}
SEEDS=${RNN_QUALITY_SEEDS:-"1 2 3"}
FIT_ARGS=${RNN_QUALITY_FIT_ARGS:-"--cell gru --bidirectional --hidden 128 --head-dropout 0.5 --embed-dropout 0.3 --lr 0.002 --lr-decay 0.5 --epochs 3 --batch-size 32"}
LIMIT=${RNN_QUALITY_LIMIT:-}
MEMBERS=${RNN_QUALITY_MEMBERS:-1}
CLEAN_ARGS=${RNN_QUALITY_CLEAN_ARGS:-}
VALID_SPLIT=${RNN_QUALITY_VALID_SPLIT:-0.2}
IFS='|' read -r -a MEMBER_ARGS <<< "${RNN_QUALITY_MEMBER_ARGS:-}"
[ ${#MEMBER_ARGS[@]} -eq 0 ] && MEMBER_ARGS=("")
mkdir -p "$OUT"

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
size_mb() { awk -v n="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", n / 1e6 }'; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
flags=$(grep -m1 -o -w 'avx512f' /proc/cpuinfo || echo "no avx512f")
echo "bench-quality: $cpu ($flags), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Data: the cleaned records, once (again when the limit or the cleaning options change).
limit=()
[ -n "$LIMIT" ] && limit=(--limit "$LIMIT")
stamp="limit=$LIMIT clean=$CLEAN_ARGS"
[ "$(cat "$OUT/records.stamp" 2>/dev/null)" = "$stamp" ] || rm -f "$OUT/train.jsonl" "$OUT/test.jsonl"
for split in train test; do
  if [ ! -s "$OUT/$split.jsonl" ]; then
    # shellcheck disable=SC2086
    "$BIN/rnn-corpus" "$DATA/aclImdb_v1.tar.gz" --split $split "${limit[@]}" -q | "$BIN/rnn-clean" -q $CLEAN_ARGS > "$OUT/$split.jsonl.part"
    mv "$OUT/$split.jsonl.part" "$OUT/$split.jsonl"
  fi
done
echo "$stamp" > "$OUT/records.stamp"
echo "| model | recipe | test accuracy | train | classify 25k | model size |"
echo "|---|---|---|---|---|---|"

# fastText, same records (labels and cleaned text).
if command -v fasttext >/dev/null; then
  for split in train test; do
    python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); print("__label__" + r["label"], r["text"].replace("\n", " "))' < "$OUT/$split.jsonl" > "$OUT/$split.ft"
  done
  t=$(now)
  fasttext supervised -input "$OUT/train.ft" -output "$OUT/fasttext" -epoch 10 -lr 0.5 -wordNgrams 3 -thread 2 -verbose 0
  ft_train=$(secs "$t")
  t=$(now)
  acc=$(fasttext test "$OUT/fasttext.bin" "$OUT/test.ft" | awk '/^P@1/ {print $2}')
  ft_test=$(secs "$t")
  echo "| fastText 0.9 | -wordNgrams 3 -epoch 10 -lr 0.5 -thread 2${CLEAN_ARGS:+; records: rnn-clean $CLEAN_ARGS} | $(awk -v a="$acc" 'BEGIN { printf "%.2f", 100 * a }')% | ${ft_train} s | ${ft_test} s | $(size_mb "$OUT/fasttext.bin") MB |"
else
  echo "| fastText | not installed (apt-get install fasttext) | | | | |"
fi

# Ours: vocabulary and encoding once, then one fit and one classification per seed.
"$BIN/rnn-vocab" -q --min-freq 2 --vectors "$DATA/glove.6B.50d.txt.gz" "$OUT/train.jsonl" -o "$OUT/vocab.bin"
"$BIN/rnn-encode" -q --vocab "$OUT/vocab.bin" "$OUT/train.jsonl" -o "$OUT/train.bin"
accs=()
for seed in $SEEDS; do
  # an ensemble of MEMBERS checkpoints (seeds seed*100+1, ...), its members' fit times summed
  fit_s=0; models=(); size=0
  for k in $(seq 1 "$MEMBERS"); do
    s=$(( MEMBERS > 1 ? seed * 100 + k : seed ))
    extra=${MEMBER_ARGS[$(( (k - 1) % ${#MEMBER_ARGS[@]} ))]}
    t=$(now)
    # shellcheck disable=SC2086
    "$BIN/rnn-fit" -q "$OUT/train.bin" --vocab "$OUT/vocab.bin" $FIT_ARGS $extra --seed "$s" --valid-split "$VALID_SPLIT" \
      --log "$OUT/fit-$s.jsonl" -o "$OUT/best-$s.ckpt"
    fit_s=$(awk -v a="$fit_s" -v b="$(secs "$t")" 'BEGIN { printf "%.1f", a + b }')
    models+=(-m "$OUT/best-$s.ckpt")
    size=$(( size + $(stat -c %s "$OUT/best-$s.ckpt") ))
    kernels=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("kernels", "?"))' "$OUT/fit-$s.jsonl")
    echo "bench-quality: seed $s: kernels $kernels, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  done
  t=$(now)
  "$BIN/rnn-classify" -q "${models[@]}" --metrics --metrics-json "$OUT/metrics-$seed.json" --no-text "$OUT/test.jsonl" > /dev/null 2> "$OUT/metrics-$seed.txt"
  cls_s=$(secs "$t")
  acc=$(python3 -c 'import json,sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["accuracy"]))' "$OUT/metrics-$seed.json")
  accs+=("$acc")
  what="rnn-fit, seed $seed"
  [ "$MEMBERS" -gt 1 ] && what="rnn-fit, ensemble of $MEMBERS (seed $seed)"
  recipe=$FIT_ARGS
  [ -n "${RNN_QUALITY_MEMBER_ARGS:-}" ] && recipe="$recipe; members in turn: ${RNN_QUALITY_MEMBER_ARGS//|/ / }"
  [ -n "$CLEAN_ARGS" ] && recipe="$recipe; records: rnn-clean $CLEAN_ARGS"
  [ "$VALID_SPLIT" != 0.2 ] && recipe="$recipe; --valid-split $VALID_SPLIT"
  echo "| $what | $recipe | ${acc}% | ${fit_s} s | ${cls_s} s | $(awk -v n="$size" 'BEGIN { printf "%.1f", n / 1e6 }') MB |"
done
python3 -c 'import statistics as s,sys; a=[float(x) for x in sys.argv[1:]]
print("| rnn-fit, mean of %d seeds | | %.2f%% (sd %.2f) | | | |" % (len(a), s.mean(a), s.stdev(a) if len(a) > 1 else 0))' "${accs[@]}"
