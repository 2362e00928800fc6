#!/usr/bin/env python3
"""The reference cleaning of REFERENCE.md section 1, in plain Python (no torch), for parity tests
and benchmarks of rnn-clean.

    clean(text) = re.sub(r'\\s+', ' ', re.sub(PUNCT, ' ', re.sub(r'<[^>]*>', ' ', text.lower())))

records whose result is '' or ' ' are dropped.

Usage:
  clean_reference.py [--format auto|jsonl|text] < input > output
      Cleans standard input like rnn-clean: JSON Lines (only "text" replaced; output as compact
      JSON with non-ASCII kept) or plain text (one record per line).
  clean_reference.py --imdb ARCHIVE [--split train,test]
      Reads an IMDB archive with Python's tarfile (independently of rnn-corpus) and prints what
      `rnn-corpus ARCHIVE | rnn-clean` must print: {"id","label","rating","text"} per review,
      in archive order.
"""
import argparse
import json
import re
import sys
import tarfile

TAG = re.compile(r'<[^>]*>')
PUNCT = re.compile(r'[!"#$%&()*+,\-./:;<=>?@\[\]^_`{|}~]')
SPACE = re.compile(r'\s+')


def clean(text):
    text = text.lower()
    text = TAG.sub(' ', text)
    text = PUNCT.sub(' ', text)
    return SPACE.sub(' ', text)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(',', ':'))


def imdb(path, splits):
    out = sys.stdout
    with tarfile.open(path, 'r|*') as tar:
        for m in tar:
            parts = [p for p in m.name.split('/') if p and p != '.']
            if not m.isfile() or len(parts) != 4:
                continue
            _, split, label, name = parts
            if label == 'unsup' or (splits and split not in splits) or name.startswith('.'):
                continue
            text = tar.extractfile(m).read().decode('utf-8', 'replace')
            c = clean(text)
            if c.strip(' ') == '':
                continue
            stem = name[:-4] if name.endswith('.txt') else name
            rec = {'id': f'{split}/{label}/{stem}', 'label': label}
            r = stem.rsplit('_', 1)
            if len(r) == 2 and r[1].isdigit() and r[1].isascii() and len(r[1]) <= 9:
                rec['rating'] = int(r[1])
            rec['text'] = c
            out.write(dumps(rec) + '\n')


def stream(fmt):
    data = sys.stdin.buffer.read()
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    out = []
    mode = fmt
    for raw in lines:
        if raw.endswith(b'\r'):
            raw = raw[:-1]
        if mode == 'auto':
            s = raw.lstrip(b' \t')
            if not s:
                continue
            mode = 'jsonl' if s.startswith(b'{') else 'text'
        if mode == 'text':
            c = clean(raw.decode('utf-8', 'replace'))
            if c.strip(' ') != '':
                out.append(c)
            continue
        if not raw.strip(b' \t'):
            continue
        rec = json.loads(raw)
        c = clean(rec['text'])
        if c.strip(' ') == '':
            continue
        rec['text'] = c
        out.append(dumps(rec))
    sys.stdout.buffer.write(''.join(x + '\n' for x in out).encode('utf-8', 'surrogatepass'))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--format', choices=['auto', 'jsonl', 'text'], default='auto')
    ap.add_argument('--imdb', metavar='ARCHIVE')
    ap.add_argument('--split', default='')
    a = ap.parse_args()
    if a.imdb:
        imdb(a.imdb, set(s for s in a.split.split(',') if s))
    else:
        stream(a.format)


if __name__ == '__main__':
    main()
