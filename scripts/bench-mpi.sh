#!/usr/bin/env bash
# Data-parallel training on one machine (docs/SCALING.md): `mpirun -np 2 rnn-fit --threads 1`
# against one process `--threads 2`, for the demo's bi-GRU classifier (IMDB vocabulary of 51,956
# rows, batch 32, CLS_STEPS steps) and the character LM of bench-lm.sh (LSTM 2 x 512, batch 32,
# seq 128, LM_STEPS steps): training steps/s (the log's rate: step time only), and under mpirun
# (rank 0's summary line) the MB each process sends per step, the share of step time spent
# waiting for and summing gradients, and the part of it spent in the step's first sum of a few
# values (mostly the wait for the slower process). The classifier also runs with
# RNN_MPI_EXCHANGE=dense (every embedding row every step) to show what sending only the touched
# rows saves.
#   scripts/bench-mpi.sh        (CLS_STEPS=20 LM_STEPS=4 to change; RNN_BIN: the built tools)
# Skipped (status 0) when mpirun is missing. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RNN_BIN:-.build/release}
DATA=${RNN_DATA:-../shared/data}
CLS_STEPS=${CLS_STEPS:-20}
LM_STEPS=${LM_STEPS:-4}
command -v mpirun >/dev/null || { echo "bench-mpi: mpirun not found (Open MPI: openmpi-bin), skipped"; exit 0; }
export PATH="$BIN:$PATH"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
MPIRUN=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# the demo's vocabulary; the first 32 x CLS_STEPS training reviews
rnn-corpus "$DATA/aclImdb_v1.tar.gz" --split train | rnn-clean > "$TMP/train.jsonl"
rnn-vocab --min-freq 2 --vectors "$DATA/glove.6B.50d.txt.gz" "$TMP/train.jsonl" -o "$TMP/v.bin" 2>/dev/null
shuf -n $((32 * CLS_STEPS)) --random-source=<(yes) "$TMP/train.jsonl" > "$TMP/part.jsonl"
rnn-encode --vocab "$TMP/v.bin" "$TMP/part.jsonl" -o "$TMP/part.bin" 2>/dev/null
# LM text: exactly LM_STEPS chunks of 32 x 128
head -c $((4096 * (LM_STEPS + 1))) "$DATA/tinyshakespeare.txt" > "$TMP/lm.txt"

printf '%-40s %-30s %9s %9s %10s %10s\n' workload run steps/s "MB/step" "comm share" "of it wait"
row() {  # name run items-per-step env-prefix launcher... -- rnn-fit args
    local name=$1 run=$2 per=$3 envs=$4; shift 4
    local launch=()
    while [ "$1" != "--" ]; do launch+=("$1"); shift; done; shift
    rm -f "$TMP/log.jsonl"
    env $envs "${launch[@]}" rnn-fit "$@" --epochs 1 -o "$TMP/m.ckpt" --log "$TMP/log.jsonl" 2> "$TMP/err" \
        || { cat "$TMP/err" >&2; return 1; }
    local rate mb share wait
    rate=$(grep -E '"event":"(epoch|eval)"' "$TMP/log.jsonl" | tail -1 | sed 's/.*"rate":\([0-9.e+]*\).*/\1/' | awk -v p="$per" '{ printf "%.2f", $1 / p }')
    mb=$(sed -n 's/^rnn-fit: .* \([0-9.]*\) MB summed per step.*/\1/p' "$TMP/err")
    # "... 3.10 s of 31.20 s of training steps (9.9%) waiting for and summing them (2.50 s of it at the step's first sum, ...)"
    share=$(sed -n 's/^rnn-fit: .* (\([0-9.]*%\)) waiting for and summing them.*/\1/p' "$TMP/err")
    wait=$(sed -n 's/^rnn-fit: .* \([0-9.]*\) s of \([0-9.]*\) s of training steps .* (\([0-9.]*\) s of it at the step.s first sum.*/\3 \2/p' "$TMP/err" \
        | awk '{ if ($2 > 0) printf "%.1f%%", 100 * $1 / $2 }')
    printf '%-40s %-30s %9s %9s %10s %10s\n' "$name" "$run" "$rate" "${mb:--}" "${share:--}" "${wait:--}"
}
cls=("$TMP/part.bin" --vocab "$TMP/v.bin" --cell gru --bidirectional --hidden 128 --head-dropout 0.5 --embed-dropout 0.3
     --batch-size 32 --valid-split 0)
name="bi-GRU H=128 train (demo, B=32)"
row "$name" "1 process, --threads 2" 32 "" -- "${cls[@]}" --threads 2
row "$name" "mpirun -np 2, --threads 1" 32 "" "${MPIRUN[@]}" -- "${cls[@]}" --threads 1
row "$name" "  same, dense embedding sum" 32 "RNN_MPI_EXCHANGE=dense" "${MPIRUN[@]}" -- "${cls[@]}" --threads 1
lm=(--lm "$TMP/lm.txt" --cell lstm --layers 2 --hidden 512 --embed-dim 64 --batch-size 32 --seq-len 128 --valid-split 0)
name="LSTM 2x512 LM train (B=32, T=128)"
row "$name" "1 process, --threads 2" 4096 "" -- "${lm[@]}" --threads 2
row "$name" "mpirun -np 2, --threads 1" 4096 "" "${MPIRUN[@]}" -- "${lm[@]}" --threads 1
