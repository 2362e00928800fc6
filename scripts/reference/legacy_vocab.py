#!/usr/bin/env python3
"""Re-implementation of torchtext's legacy Field.build_vocab / Vocab ordering, plain python3.

Usage: legacy_vocab.py [--min-freq N] [--max-size N] < cleaned.jsonl > tokens.txt
Counts str.split() tokens of every record's "text" (collections.Counter), then, exactly as
torchtext.legacy.vocab.Vocab.__init__: sort by token, stable-sort by count descending, drop
tokens below min_freq, stop at max_size (specials not counted), specials <unk>, <pad> first.
Labels: same rule, no specials. Output: one token per line, then a line "#labels", then the labels.
"""
import argparse
import json
import sys
from collections import Counter


def ordered(counter, min_freq, max_size, specials):
    itos = list(specials)
    words = sorted(counter.items(), key=lambda t: t[0])
    words.sort(key=lambda t: t[1], reverse=True)
    limit = None if max_size is None else max_size + len(itos)
    for w, c in words:
        if c < min_freq or (limit is not None and len(itos) == limit):
            break
        if w in specials:
            continue
        itos.append(w)
    return itos


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--min-freq', type=int, default=1)
    ap.add_argument('--max-size', type=int, default=None)
    a = ap.parse_args()
    tokens, labels = Counter(), Counter()
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        tokens.update(r['text'].split())
        if 'label' in r:
            labels[r['label']] += 1
    out = sys.stdout
    for t in ordered(tokens, max(a.min_freq, 1), a.max_size, ['<unk>', '<pad>']):
        out.write(t + '\n')
    out.write('#labels\n')
    for t in ordered(labels, 1, None, []):
        out.write(t + '\n')


if __name__ == '__main__':
    main()
