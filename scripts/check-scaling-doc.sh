#!/usr/bin/env bash
# Runs every code block of docs/SCALING.md marked ```bash tested, in order, in one folder made
# here from the IMDB data: train.jsonl, test.jsonl (2,000 reviews each: every 12th of each split),
# vocab.bin, train.bin, best.ckpt (a small bi-GRU trained on them), and fake-ssh (a stand-in for
# ssh that runs the command on this machine: no sshd is needed). Blocks run with `bash -e`;
# the first one that fails ends the check with its output.
#   RNN_BIN=.build/release scripts/check-scaling-doc.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BIN=$(cd "${RNN_BIN:-.build/release}" && pwd)
DATA=$(cd "${RNN_DATA:-../shared/data}" && pwd)
export PATH="$BIN:$PATH"
command -v mpirun >/dev/null || { echo "check-scaling-doc: mpirun not found (Open MPI: openmpi-bin)" >&2; exit 1; }
command -v parallel >/dev/null || { echo "check-scaling-doc: GNU parallel not found" >&2; exit 1; }
dir=$(mktemp -d)
[ "${1:-}" = "--keep" ] && echo "check-scaling-doc: folder $dir" >&2 || trap 'rm -rf "$dir"' EXIT
cd "$dir"
rnn-corpus "$DATA/aclImdb_v1.tar.gz" --split train | rnn-clean | awk 'NR % 12 == 1 && ++n <= 2000' > train.jsonl
rnn-corpus "$DATA/aclImdb_v1.tar.gz" --split test | rnn-clean | awk 'NR % 12 == 1 && ++n <= 2000' > test.jsonl
rnn-vocab --min-freq 2 train.jsonl -o vocab.bin 2>/dev/null
rnn-encode --vocab vocab.bin train.jsonl -o train.bin 2>/dev/null
rnn-fit train.bin --vocab vocab.bin --cell gru --bidirectional --hidden 16 --embed-dim 16 --epochs 2 --lr 0.005 --threads 1 -q -o best.ckpt
cat > fake-ssh <<'EOF'
#!/bin/sh
# Stand-in for ssh: `fake-ssh [options] HOST [--] COMMAND...` runs COMMAND here, as ssh would run
# it on HOST, and appends HOST to $FAKE_SSH_LOG.
while [ $# -gt 0 ]; do
  case "$1" in
    -o|-p|-l|-i|-S|-F) shift 2 ;;
    -*) shift ;;
    *) echo "$1" >> "${FAKE_SSH_LOG:-/dev/null}"; shift; break ;;
  esac
done
[ "${1:-}" = "--" ] && shift
exec sh -c "$*"
EOF
chmod +x fake-ssh
export FAKE_SSH_LOG="$dir/ssh-hosts.log"
# mpirun refuses to run as root unless told (Open MPI 4 reads these), and 2 cores take 2 ranks only
# when oversubscribing is allowed: the doc's commands are a user's, the permissions are given here
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# the blocks, in order
awk '/^```bash tested/ { n++; f = sprintf("block%02d.sh", n); next } /^```/ { f = ""; next } f { print > f }' "$root/docs/SCALING.md"
blocks=$(ls block*.sh 2>/dev/null || true)
[ -n "$blocks" ] || { echo "check-scaling-doc: no tested blocks in docs/SCALING.md" >&2; exit 1; }
for b in $blocks; do
  if ! out=$(bash -e "$b" 2>&1); then
    echo "check-scaling-doc: $b failed:" >&2; cat "$b" >&2; echo "--- output:" >&2; echo "$out" >&2; exit 1
  fi
  echo "check-scaling-doc: $b ok ($(wc -l < "$b") lines)"
  [ -z "$out" ] || echo "$out" | sed 's/^/    /'

done
echo "check-scaling-doc: $(echo "$blocks" | wc -w) blocks of docs/SCALING.md ran"
