#!/usr/bin/env bash
# Throughput of rnn-clean vs the Python reference (scripts/reference/clean_reference.py) on the
# IMDB train set: the 25,000 reviews are extracted once to a temporary JSON Lines file, then each
# cleaner runs on it (best of N runs, pinned to one core). Prints MB/s of input (wall and CPU
# time) and the speed ratio.
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

# Best wall time and best CPU time (user + sys; less sensitive to other processes on a shared
# machine) of "$@" < train.jsonl > out, over $runs runs. Prints "wall cpu".
best() {
    local bw="" bc=""
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$tmp/time" -f "%e %U %S" "$@" < "$tmp/train.jsonl" > "$tmp/out"
        read -r w u s < "$tmp/time"
        local c; c=$(echo "$u + $s" | bc -l)
        if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; fi
        if [ -z "$bc" ] || [ "$(echo "$c < $bc" | bc -l)" = 1 ]; then bc=$c; fi
    done
    echo "$bw $bc"
}

read -r ref_w ref_c < <(best taskset -c 0 python3 "$root/scripts/reference/clean_reference.py")
cp "$tmp/out" "$tmp/ref.jsonl"
mb=$(echo "$bytes / 1000000" | bc -l)
rate() { echo "$mb / ($1 + 0.0001)" | bc -l; }
printf 'input: IMDB train, %d records, %.1f MB (JSON Lines), best of %d runs on one core\n' "$(wc -l < "$tmp/train.jsonl")" "$mb" "$runs"
printf 'python reference:           wall %.3f s = %5.1f MB/s   cpu %.3f s = %5.1f MB/s\n' "$ref_w" "$(rate "$ref_w")" "$ref_c" "$(rate "$ref_c")"
for engine in pcre2 fused; do
    read -r ours_w ours_c < <(best taskset -c 0 "$bin/rnn-clean" --engine "$engine")
    if cmp -s "$tmp/out" "$tmp/ref.jsonl"; then same="byte-identical"; else same="DIFFERENT OUTPUT"; fi
    label="rnn-clean --engine $engine:"
    [ "$engine" = pcre2 ] && label="rnn-clean (pcre2, default):"
    printf '%-27s wall %.3f s = %5.0f MB/s   cpu %.3f s = %5.0f MB/s   %.1fx Python (wall), %.1fx (cpu); output %s\n' \
        "$label" "$ours_w" "$(rate "$ours_w")" "$ours_c" "$(rate "$ours_c")" \
        "$(echo "$ref_w / $ours_w" | bc -l)" "$(echo "$ref_c / ($ours_c + 0.0001)" | bc -l)" "$same"
done
