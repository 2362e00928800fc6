#!/usr/bin/env bash
# Benchmark of rnn-vocab and rnn-encode on the 25,000 IMDB training reviews (cleaned by the Python
# reference cleaner), against plain-Python baselines measured in the same run:
#   vocabulary: Counter + sort (scripts/reference/legacy_vocab.py, torchtext's rule);
#   GloVe 50d:  read the .gz, look each word up, parse floats of vocabulary words only;
#   encoding:   str.split + dict lookups, fix_length 500, pad_first.
# Prints seconds (best of 3) and the ratio. Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-.build/release}
DATA=${RNN_DATA:-../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/reference/imdb_clean.py "$DATA/aclImdb_v1.tar.gz" train > "$tmp/train.jsonl"

best() {  # best wall time of 3 runs of "$@", in seconds
  python3 - "$@" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(3):
    t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append(time.perf_counter() - t)
print("%.3f" % min(ts))
PY
}
row() { python3 -c "import sys; a, b = float(sys.argv[2]), float(sys.argv[3]); print('%-34s %8.3f s %8.3f s %7.1fx' % (sys.argv[1], a, b, b / a))" "$@"; }

cat > "$tmp/glove.py" <<'PY'
import gzip, json, sys
stoi = {}
for line in open(sys.argv[2]):
    for t in json.loads(line)["text"].split():
        stoi.setdefault(t, len(stoi))
vec = {}
with gzip.open(sys.argv[1], "rt", encoding="utf-8") as f:
    for line in f:
        w, rest = line.split(" ", 1)
        if w in stoi and w not in vec:
            vec[w] = [float(x) for x in rest.split()]
PY
cat > "$tmp/encode.py" <<'PY'
import json, sys
itos = [l.rstrip("\n") for l in open(sys.argv[1])]
stoi = {t: i for i, t in enumerate(itos)}
out = []
for line in open(sys.argv[2]):
    ids = [stoi.get(t, 0) for t in json.loads(line)["text"].split()][:500]
    out.append([1] * (500 - len(ids)) + ids)
PY
python3 scripts/reference/legacy_vocab.py --min-freq 2 < "$tmp/train.jsonl" | sed '/^#labels$/,$d' > "$tmp/itos.txt"
"$BIN/rnn-vocab" --min-freq 2 "$tmp/train.jsonl" -o "$tmp/v.bin" 2>/dev/null

echo "$(printf '%-34s %10s %10s %8s' task rnn python ratio)"
row "vocabulary (min-freq 2)" "$(best "$BIN/rnn-vocab" --min-freq 2 "$tmp/train.jsonl" -o "$tmp/v2.bin")" \
    "$(best sh -c "python3 scripts/reference/legacy_vocab.py --min-freq 2 < '$tmp/train.jsonl'")"
row "vocabulary + GloVe 50d (.gz)" "$(best "$BIN/rnn-vocab" --min-freq 2 --vectors "$DATA/glove.6B.50d.txt.gz" "$tmp/train.jsonl" -o "$tmp/v3.bin")" \
    "$(best python3 "$tmp/glove.py" "$DATA/glove.6B.50d.txt.gz" "$tmp/train.jsonl")"
row "encode, binary, fix-length 500" "$(best "$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/train.jsonl" -o "$tmp/train.bin")" \
    "$(best python3 "$tmp/encode.py" "$tmp/itos.txt" "$tmp/train.jsonl")"
row "encode, JSON Lines, fix-length 500" "$(best "$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/train.jsonl")" \
    "$(best python3 "$tmp/encode.py" "$tmp/itos.txt" "$tmp/train.jsonl")"
"$BIN/rnn-vocab" --min-freq 2 --vectors "$DATA/glove.6B.50d.txt.gz" "$tmp/train.jsonl" -o "$tmp/v3.bin" 2>&1 | grep vectors
