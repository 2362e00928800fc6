#!/usr/bin/env python3
"""PyTorch side of scripts/bench-engine.sh: same model shape, same batches (read from the file the
Swift benchmark dumps). Training: padded to 500 in front (PyTorch's fastest mode here); inference:
best of packed and padded. torch.set_num_threads(2).

usage: bench_torch.py CELL MODE DATA.safetensors
       bench_torch.py CELL sample LAYERS HIDDEN CHARS   (character LM, V=65, E=70, batch 1; best of
                                                         oneDNN on and off, which is faster here)
"""
import sys, time
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
from safetensors import safe_open
from safetensors.torch import load_file

cell, mode = sys.argv[1], sys.argv[2]
torch.set_num_threads(2)
torch.manual_seed(0)

if mode == "sample":
    L, Hs, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(65, 70)
            self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(70, Hs, num_layers=L, batch_first=True)
            self.fc = nn.Linear(Hs, 65)

        def forward(self, x, h):
            o, h = self.rnn(self.embedding(x), h)
            return self.fc(o[:, -1]), h

    lm = LM().eval()
    best = 0.0
    for mkldnn in (True, False):
        torch.backends.mkldnn.enabled = mkldnn
        with torch.no_grad():
            x, h = torch.tensor([[1]]), None
            for i in range(n + 50):
                if i == 50:
                    t0 = time.perf_counter()
                logits, h = lm(x, h)
                p = torch.softmax(logits[0] / 0.8, dim=0)
                x = torch.multinomial(p, 1).view(1, 1)
            r = n / (time.perf_counter() - t0)
        print(f"torch {cell} {L}x{Hs} sample (oneDNN {'on' if mkldnn else 'off'}, 2 threads): {r:,.0f} chars/s")
        best = max(best, r)
    print(f"torch {cell} {L}x{Hs} sample best: {best:.1f} chars/s")
    sys.exit(0)

path = sys.argv[3]
with safe_open(path, "pt") as f:
    meta = f.metadata() or {}
V, E, H, FIX = int(meta.get("vocab", 25000)), int(meta.get("embed", 200)), int(meta.get("hidden", 128)), 500
data = load_file(path)
nb = len([k for k in data if k.startswith("lengths.")])
warm = 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=1)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(E, H, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * H, 1)

    def forward(self, x, lengths=None):
        e = self.embedding(x)
        if lengths is not None:
            e = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(e)
        if isinstance(h, tuple):
            h = h[0]
        return self.fc(torch.cat((h[-2], h[-1]), dim=1)).squeeze(1)


def batch(i, packed):
    toks, lens = data[f"tokens.{i}"].long(), data[f"lengths.{i}"].long()
    B = len(lens)
    T = int(lens.max()) if packed else FIX
    x = torch.full((B, T), 1, dtype=torch.long)
    off = 0
    for b, l in enumerate(lens.tolist()):
        if packed:
            x[b, :l] = toks[off:off + l]
        else:
            x[b, T - l:] = toks[off:off + l]
        off += l
    return x, lens, data[f"labels.{i}"].float(), int(lens.sum())


model = Net()
if mode == "train":
    opt = torch.optim.Adam(model.parameters())
    lossf = nn.BCEWithLogitsLoss()
    best = 0.0   # best batch: padded batches all cost the same, so the fastest is the least disturbed
    for i in range(nb):
        if i == warm:
            t0, reviews, tokens = time.perf_counter(), 0, 0
        tb = time.perf_counter()
        x, lens, y, n = batch(i, False)
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        if i >= warm:
            reviews += len(lens); tokens += n
            best = max(best, len(lens) / (time.perf_counter() - tb))
    dt = time.perf_counter() - t0
    print(f"torch bi-{cell} train E={E} V={V} (padded to {FIX}, 2 threads): {dt / (nb - warm):.4f} s/batch, {reviews / dt:.1f} reviews/s, {tokens / dt:,.0f} real tokens/s, best batch {best:.1f} reviews/s")
else:
    model.eval()
    best = None
    with torch.no_grad():
        for packed in (True, False):
            for i in range(nb):
                if i == warm:
                    t0, reviews = time.perf_counter(), 0
                x, lens, _, _ = batch(i, packed)
                model(x, lens if packed else None)
                if i >= warm:
                    reviews += len(lens)
            r = reviews / (time.perf_counter() - t0)
            print(f"torch bi-{cell} infer ({'packed' if packed else 'padded'}, 2 threads): {r:.1f} reviews/s")
            best = max(best or 0, r)
    print(f"torch bi-{cell} infer best: {best:.1f} reviews/s")
