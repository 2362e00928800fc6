#!/usr/bin/env bash
# Installs the binaries, man pages and bash/zsh/fish completions.
# Usage: scripts/install.sh BIN_DIR PREFIX   (make install PREFIX=... calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1
PREFIX=$2
TOOLS="rnn-corpus rnn-clean rnn-vocab rnn-encode rnn-fit rnn-classify rnn-sample"
install -d "$PREFIX/bin" "$PREFIX/share/man/man1" "$PREFIX/share/bash-completion/completions" \
  "$PREFIX/share/zsh/site-functions" "$PREFIX/share/fish/vendor_completions.d"
for t in $TOOLS; do
  install -m 755 "$BIN/$t" "$PREFIX/bin/$t"
  install -m 644 "man/$t.1" "$PREFIX/share/man/man1/$t.1"
  install -m 644 "completions/$t.bash" "$PREFIX/share/bash-completion/completions/$t"
  install -m 644 "completions/_$t" "$PREFIX/share/zsh/site-functions/_$t"
  install -m 644 "completions/$t.fish" "$PREFIX/share/fish/vendor_completions.d/$t.fish"
done
echo "installed $TOOLS into $PREFIX"
