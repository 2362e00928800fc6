#!/usr/bin/env bash
# Fuzzes every reader of the suite (issue 11): `make fuzz FUZZ_S=60` runs each target of
# Sources/RNNFuzz for FUZZ_S seconds with libFuzzer and AddressSanitizer, 2 GB RSS cap and a 5 s
# per-input timeout, and prints executions and coverage per target.
#
# SwiftPM cannot link a libFuzzer entry (no main), so the library modules are compiled here with
# swiftc -sanitize=fuzzer,address into .build-fuzz (git-ignored), then linked with
# Tests/Fuzz/driver.swift. Seeds are real small files made by the release tools (make build) from
# the test data in ../shared/data. A crash is left in .build-fuzz/crashes/TARGET/; commit it to
# Tests/Fuzz/regressions/TARGET/ (the test FuzzRegressionTests replays those through the normal
# build and expects a clean error) and fix the reader.
#
# Environment: FUZZ_S (seconds per target, default 60), FUZZ_TARGETS (default: all),
# RNN_BIN (release binaries, default .build/release). Targets run one after another, one process
# each. The engine's kernel sets are compiled as in Package.swift (each with its own -march).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_S=${FUZZ_S:-60}
TARGETS=${FUZZ_TARGETS:-"safetensors vocab dataset checkpoint jsonl tar gzip glove state"}
BIN=${RNN_BIN:-.build/release}
DATA=${RNN_DATA:-../shared/data}
OUT=.build-fuzz
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
mkdir -p "$OUT/obj"

# 1. Build (only when a source is newer than the fuzzer).
FUZZER="$OUT/rnn-fuzz"
MODULES="RNNCore RNNMPI RNNText RNNKernelABI RNNKernelsBaseline RNNKernelsV3 RNNKernelsV4 RNNEngine RNNTrain RNNFuzz"
if [ ! -x "$FUZZER" ] || [ -n "$(find -L $(printf 'Sources/%s ' $MODULES) Tests/Fuzz/driver.swift -newer "$FUZZER" -name '*.swift' | head -1)" ]; then
  FLAGS=(-O -sanitize=fuzzer,address -enforce-exclusivity=unchecked -parse-as-library -I "$OUT/obj"
         -I Sources/CZlib -I Sources/CPCRE2 -I Sources/COpenBLAS)
  for inc in $(pkg-config --cflags-only-I openblas zlib libpcre2-8); do FLAGS+=(-Xcc "$inc"); done
  for m in $MODULES; do
    echo "fuzz: compiling $m"
    case $m in   # the kernel sets' flags (Package.swift: kernelFlags)
      RNNKernelsBaseline) EXTRA=(-Xcc -fno-math-errno) ;;
      RNNKernelsV3) EXTRA=(-Xcc -fno-math-errno -Xcc -march=x86-64-v3 -D RNN_KERNELS_V3) ;;
      RNNKernelsV4) EXTRA=(-Xcc -fno-math-errno -Xcc -march=x86-64-v4 -D RNN_KERNELS_V4) ;;
      *) EXTRA=() ;;
    esac
    swiftc "${FLAGS[@]}" "${EXTRA[@]}" -module-name "$m" -emit-module -emit-module-path "$OUT/obj/$m.swiftmodule" \
      -wmo -num-threads 0 -c Sources/$m/*.swift -o "$OUT/obj/$m.o" 2>&1 | grep -v "warning:" || true
    [ -f "$OUT/obj/$m.o" ] || { echo "fuzz: building $m failed" >&2; exit 1; }
  done
  echo "fuzz: linking $FUZZER"
  swiftc "${FLAGS[@]}" Tests/Fuzz/driver.swift "$OUT"/obj/*.o -lz -lpcre2-8 -lopenblas -o "$FUZZER" 2>&1 | grep -v "ld.gold: warning" || true
  [ -x "$FUZZER" ] || { echo "fuzz: linking failed" >&2; exit 1; }
fi

# 2. Seeds: real small files made by the tools from the test data.
S="$OUT/seeds"
if [ ! -f "$S/.done-2" ]; then
  echo "fuzz: making seeds with $BIN"
  rm -rf "$S"; mkdir -p "$S"/{safetensors,vocab,dataset,checkpoint,jsonl,tar,gzip,glove,state} "$S/work"
  W="$S/work"
  "$BIN/rnn-corpus" "$DATA/aclImdb_v1.tar.gz" --split train --limit 4 -q -o "$W/raw.jsonl"
  "$BIN/rnn-clean" -q "$W/raw.jsonl" -o "$W/t.jsonl"
  zcat "$DATA/glove.6B.50d.txt.gz" | head -n 60 > "$W/g.txt" || true
  "$BIN/rnn-vocab" -q "$W/t.jsonl" -o "$W/v.bin"
  "$BIN/rnn-vocab" -q "$W/t.jsonl" --max-size 50 --vectors "$W/g.txt" -o "$W/vg.bin"
  "$BIN/rnn-encode" -q --vocab "$W/v.bin" --fix-length 20 "$W/t.jsonl" -o "$W/t.bin"
  "$BIN/rnn-fit" -q "$W/t.bin" --vocab "$W/v.bin" --embed-dim 4 --hidden 4 --epochs 1 --valid-split 0 -o "$W/c.ckpt" 2>/dev/null
  head -c 3000 "$DATA/tinyshakespeare.txt" > "$W/ts.txt"
  "$BIN/rnn-fit" -q --lm "$W/ts.txt" --layers 1 --hidden 8 --embed-dim 4 --epochs 1 --seq-len 16 --batch-size 4 -o "$W/lm.ckpt" 2>/dev/null
  cp "$W/v.bin" "$W/vg.bin" "$S/vocab/"; cp "$W/t.bin" "$S/dataset/"; cp "$W/c.ckpt" "$W/lm.ckpt" "$S/checkpoint/"
  cp "$W/v.bin" "$W/t.bin" "$W/c.ckpt" "$S/safetensors/"
  cp "$W/c.ckpt.state" "$S/state/c.state"; cp "$W/lm.ckpt.state" "$S/state/lm.state"
  head -n 3 "$W/t.jsonl" > "$S/jsonl/t.jsonl"; head -c 2000 "$W/ts.txt" > "$S/jsonl/plain.txt"
  gzip -c "$S/jsonl/t.jsonl" > "$S/jsonl/t.jsonl.gz"
  gzip -c "$W/ts.txt" > "$S/gzip/ts.gz"; (gzip -c "$S/jsonl/t.jsonl"; gzip -c "$W/ts.txt") > "$S/gzip/two.gz"
  head -n 8 "$W/g.txt" > "$S/glove/g.txt"; (echo "8 50"; head -n 8 "$W/g.txt") > "$S/glove/w2v.vec"; gzip -c "$S/glove/g.txt" > "$S/glove/g.txt.gz"
  mkdir -p "$W/tree/aclImdb/train/pos" "$W/tree/aclImdb/train/neg" "$W/tree/aclImdb/test/pos"
  echo "A fine film." > "$W/tree/aclImdb/train/pos/0_9.txt"; echo "Bad." > "$W/tree/aclImdb/train/neg/1_2.txt"
  echo "Long name" > "$W/tree/aclImdb/test/pos/$(printf 'x%.0s' $(seq 1 120))_7.txt"
  (cd "$W/tree" && tar --format=ustar -cf "../../tar/ustar.tar" aclImdb/train && tar --format=gnu -cf "../../tar/gnu.tar" aclImdb \
     && tar --format=pax -cf "../../tar/pax.tar" aclImdb && tar --format=gnu -czf "../../tar/gnu.tar.gz" aclImdb)
  rm -rf "$W"; touch "$S/.done-2"
fi

# 3. Fuzz each target; report executions and coverage.
printf '%-12s %12s %8s %8s %s\n' target executions cov ft result
status=0
for t in $TARGETS; do
  mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t" "$OUT/scratch"
  log="$OUT/$t.log"
  set +e
  RNN_FUZZ_TARGET=$t RNN_FUZZ_SCRATCH="$OUT/scratch" "$FUZZER" -max_total_time="$FUZZ_S" -rss_limit_mb=2048 -timeout=5 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$OUT/crashes/$t/" "$OUT/corpus/$t" "$S/$t" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  res=ok
  if [ $rc -ne 0 ]; then res="FAILED (exit $rc): $(ls "$OUT/crashes/$t" | head -3 | tr '\n' ' ') see $log"; status=1; fi
  printf '%-12s %12s %8s %8s %s\n' "$t" "$execs" "$cov" "$ft" "$res"
done
rm -rf "$OUT/scratch"
exit $status
