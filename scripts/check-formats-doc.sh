#!/usr/bin/env bash
# Runs every Python snippet of docs/FORMATS.md on files made by the built tools from the IMDB
# training reviews (cleaned by scripts/reference/imdb_clean.py) and tiny-shakespeare, with a Python
# that has numpy and safetensors (and torch for the classifier snippets, which skip themselves
# without it). Usage: RNN_BIN=.build/release PYTHON=/work/venv/bin/python scripts/check-formats-doc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-.build/release}
PY=${PYTHON:-python3}
DATA=${RNN_DATA:-../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/reference/imdb_clean.py "$DATA/aclImdb_v1.tar.gz" train > "$tmp/train.jsonl"
"$BIN/rnn-vocab" --min-freq 2 --vectors "$DATA/glove.6B.50d.txt.gz" "$tmp/train.jsonl" -o "$tmp/v.bin"
"$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/train.jsonl" -o "$tmp/train.bin"
"$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/train.jsonl" > "$tmp/train.enc.jsonl"
# A small classifier checkpoint for the section 4 snippets (every 10th review trains, 200 others validate).
awk 'NR % 10 == 1' "$tmp/train.jsonl" > "$tmp/fit.jsonl"
awk 'NR % 125 == 2' "$tmp/train.jsonl" > "$tmp/valid.jsonl"
"$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/fit.jsonl" -o "$tmp/fit.bin" 2>/dev/null
"$BIN/rnn-encode" --vocab "$tmp/v.bin" --fix-length 500 --pad-first "$tmp/valid.jsonl" -o "$tmp/valid.bin" 2>/dev/null
"$BIN/rnn-fit" "$tmp/fit.bin" --vocab "$tmp/v.bin" --valid "$tmp/valid.bin" --cell gru --bidirectional --hidden 16 \
  --epochs 1 --lr 0.01 --batch-size 16 -o "$tmp/best.ckpt" 2>/dev/null
# pooling heads (the module's max/mean/concat features): packed concat, and max over the padded view
"$BIN/rnn-fit" "$tmp/fit.bin" --vocab "$tmp/v.bin" --valid "$tmp/valid.bin" --cell lstm --bidirectional --hidden 16 \
  --epochs 1 --lr 0.01 --batch-size 16 --pool concat -o "$tmp/concat.ckpt" 2>/dev/null
"$BIN/rnn-fit" "$tmp/fit.bin" --vocab "$tmp/v.bin" --valid "$tmp/valid.bin" --cell gru --hidden 16 \
  --epochs 1 --lr 0.01 --batch-size 16 --padded --pool max -o "$tmp/maxpad.ckpt" 2>/dev/null
# a small character LM and its greedy sample (the numpy snippet of section 4 must print the same)
head -c 50000 "$DATA/tinyshakespeare.txt" > "$tmp/ts.txt"
"$BIN/rnn-fit" --lm "$tmp/ts.txt" --layers 2 --hidden 64 --embed-dim 16 --epochs 3 --lr 0.01 --batch-size 8 --seq-len 32 \
    --threads 1 -o "$tmp/lm.ckpt" 2>/dev/null
"$BIN/rnn-sample" -m "$tmp/lm.ckpt" --temp 0 --prime ROMEO: --length 40 > "$tmp/greedy.txt"
"$PY" - "$tmp" <<'PYEOF'
import os, re, subprocess, sys
tmp = sys.argv[1]
doc = open("docs/FORMATS.md").read()
blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
failed = 0
for i, code in enumerate(blocks):
    if "PAD_FIRST" in code:  # the JSON Lines fragment: give it its constant and check its result
        code = "PAD_FIRST = True\n" + code + "\n    assert len(real) == r['length'] and 1 not in real\n"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True)
    if 'meta["kind"] == "classifier"' in code and p.returncode == 0:   # the same module with pooling heads
        for other in ("concat.ckpt", "maxpad.ckpt"):
            q = subprocess.run([sys.executable, "-c", code.replace("best.ckpt", other)], cwd=tmp, capture_output=True, text=True)
            print(f"snippet {i + 1} on {other}: {'ok' if q.returncode == 0 else 'FAILED'} {q.stdout.strip()[:200]}")
            if q.returncode != 0:
                p = q
    if 'meta["kind"] == "lm"' in code and p.returncode == 0:
        want = open(os.path.join(tmp, "greedy.txt"), encoding="utf-8").read().rstrip("\n")
        if p.stdout.rstrip("\n") != want:
            print(f"snippet {i + 1}: prints {p.stdout!r}, rnn-sample --temp 0 prints {want!r}", file=sys.stderr)
            p = subprocess.CompletedProcess(p.args, 1, p.stdout, p.stderr)
    print(f"snippet {i + 1}: {'ok' if p.returncode == 0 else 'FAILED'} {p.stdout.strip()[:200]}")
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        failed += 1
sys.exit(1 if failed else 0)
PYEOF
