#!/usr/bin/env python3
"""Reference cleaning of the IMDB archive (REFERENCE.md section 1), plain python3, no torch.

Usage: imdb_clean.py ARCHIVE SPLIT > cleaned.jsonl
Writes one JSON record per review of SPLIT (train or test), in archive order:
{"id":"train/pos/0_9","label":"pos","rating":9,"text":"<cleaned text>"}.
Records whose cleaned text is empty (only spaces) are dropped, as the reference does.
Used by the tests as the stand-in for `rnn-corpus | rnn-clean`.
"""
import json
import re
import sys
import tarfile

TAG = re.compile(r'<[^>]*>')
PUNCT = re.compile(r'[!"#$%&()*+,\-./:;<=>?@\[\]^_`{|}~]')
SPACE = re.compile(r'\s+')


def clean(s):
    s = s.lower()
    s = TAG.sub(' ', s)
    s = PUNCT.sub(' ', s)
    return SPACE.sub(' ', s)


def main():
    archive, split = sys.argv[1], sys.argv[2]
    out = sys.stdout
    with tarfile.open(archive, 'r:gz') as tar:
        for m in tar:
            parts = m.name.split('/')
            # aclImdb/train/pos/0_9.txt
            if len(parts) != 4 or parts[1] != split or parts[2] not in ('pos', 'neg') or not m.isfile():
                continue
            raw = tar.extractfile(m).read().decode('utf-8')
            text = clean(raw)
            if not text.strip():
                continue
            stem = parts[3][:-4]
            rec = {"id": f"{split}/{parts[2]}/{stem}", "label": parts[2],
                   "rating": int(stem.split('_')[1]), "text": text}
            out.write(json.dumps(rec, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
