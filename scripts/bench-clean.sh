#!/usr/bin/env bash
# Throughput of rnn-clean vs the Python reference (scripts/reference/clean_reference.py) on the
# IMDB train set: the 25,000 reviews are extracted once to a temporary JSON Lines file, then each
# cleaner runs on it (best of N runs, one core). Prints MB/s of input and the speed ratio.
#
# Usage: scripts/bench-clean.sh [ARCHIVE] [RUNS]     (RNN_BIN: folder of the built tools)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
archive="${1:-$root/../shared/data/aclImdb_v1.tar.gz}"
runs="${2:-3}"
bin="${RNN_BIN:-$root/.build/release}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$bin/rnn-corpus" "$archive" --split train > "$tmp/train.jsonl"
bytes=$(stat -c %s "$tmp/train.jsonl")

best() {  # best wall time in seconds of "$@" < train.jsonl > out, over $runs runs
    local b=""
    for _ in $(seq "$runs"); do
        local t0 t1 t
        t0=$(date +%s.%N)
        "$@" < "$tmp/train.jsonl" > "$tmp/out"
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}

ours=$(best taskset -c 0 "$bin/rnn-clean")
cp "$tmp/out" "$tmp/ours.jsonl"
ref=$(best taskset -c 0 python3 "$root/scripts/reference/clean_reference.py")
if cmp -s "$tmp/out" "$tmp/ours.jsonl"; then same="byte-identical"; else same="DIFFERENT OUTPUT"; fi
mb=$(echo "$bytes / 1000000" | bc -l)
printf 'input: IMDB train, %d records, %.1f MB (JSON Lines)\n' "$(wc -l < "$tmp/train.jsonl")" "$mb"
printf 'rnn-clean: %.3f s  %.0f MB/s\n' "$ours" "$(echo "$mb / $ours" | bc -l)"
printf 'python reference: %.3f s  %.1f MB/s\n' "$ref" "$(echo "$mb / $ref" | bc -l)"
printf 'ratio: %.1fx faster than Python (outputs %s)\n' "$(echo "$ref / $ours" | bc -l)" "$same"
