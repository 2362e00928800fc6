#!/usr/bin/env python3
"""PyTorch's inference on an rnn-classify checkpoint: reviews/s on the same cleaned records, in
batches of 256, packed (what rnn-classify computes) and padded to the training fixed length
with pads in front (the reference tutorial), 2 threads; and the largest difference between
PyTorch's packed probabilities and rnn-classify's output.

Usage: bench_torch_classify.py CKPT CLEANED.jsonl [RNN_CLASSIFY_OUTPUT.jsonl]
(run by scripts/bench-classify.sh; needs torch and safetensors)
"""
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torch_classifier import Classifier  # noqa: E402


def main():
    ckpt, records = sys.argv[1], sys.argv[2]
    theirs = sys.argv[3] if len(sys.argv) > 3 else None
    torch.set_num_threads(2)
    with safe_open(ckpt, framework="pt") as f:
        meta = f.metadata()
    state = load_file(ckpt)
    V, E = state["embedding.weight"].shape
    H = int(meta["hidden"])
    bi = meta["bidirectional"] == "true"
    labels = json.loads(meta["labels"])
    model = Classifier(meta["model"], V, E, H, int(meta["layers"]), bi, state["fc.bias"].shape[0]).eval()
    model.load_state_dict(state)
    stoi = {t: i for i, t in enumerate(json.loads(meta["vocab"]))}
    T = int(meta.get("fix_length", "0") or 0)
    seqs = []
    for line in open(records):
        ids = [stoi.get(w, 0) for w in json.loads(line)["text"].split()]
        seqs.append(ids[:T] if T else ids)
    T = T or max(len(s) for s in seqs)

    def run(padded_mode):
        probs = []
        t0 = time.perf_counter()
        with torch.no_grad():
            for b in range(0, len(seqs), 256):
                batch = seqs[b:b + 256]
                lengths = torch.tensor([len(s) for s in batch])
                width = T if padded_mode else int(lengths.max())
                x = torch.full((len(batch), width), 1, dtype=torch.long)
                for r, s in enumerate(batch):
                    if padded_mode:
                        x[r, width - len(s):] = torch.tensor(s)  # pads in front (pad_first)
                    else:
                        x[r, :len(s)] = torch.tensor(s)
                if padded_mode:  # the reference: every sequence runs over all T steps
                    _, h = model.rnn(model.embedding(x))
                    h = h[0] if isinstance(h, tuple) else h
                    logits = model.fc(torch.cat([h[-2], h[-1]], 1) if bi else h[-1])
                else:
                    logits = model(x, lengths)
                p = torch.sigmoid(logits[:, 0]) if logits.shape[1] == 1 else torch.softmax(logits, 1)
                probs.extend(p.tolist())
        return probs, time.perf_counter() - t0

    packed, tp = run(False)
    print(f"pytorch {torch.__version__}, 2 threads, batch 256, packed:            {len(seqs) / tp:.0f} reviews/s ({tp:.1f} s)")
    _, tq = run(True)
    print(f"pytorch, padded to {T} (pads in front, reference semantics): {len(seqs) / tq:.0f} reviews/s ({tq:.1f} s)")
    if theirs:
        diff = 0.0
        for p, line in zip(packed, open(theirs)):
            r = json.loads(line)
            if r["label"] is None:
                continue
            if isinstance(p, float):  # binary: p = p(labels[1])
                mine = r["prob"] if r["label"] == labels[1] else 1 - r["prob"]
                diff = max(diff, abs(mine - p))
            else:
                diff = max(diff, abs(r["prob"] - max(p)))
        print(f"max |p(rnn-classify) - p(pytorch packed)| over {len(packed)} reviews: {diff:.2e}")


if __name__ == "__main__":
    main()
