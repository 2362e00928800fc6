#!/usr/bin/env python3
"""Scores rnn-fit --lm checkpoints and their ensemble on the validation part of a text in PyTorch,
as a cross-check of rnn-fit's `valid_loss` and of `rnn-sample -m a.ckpt -m b.ckpt --score`.

  score_lm_torch.py TEXT A.ckpt [B.ckpt ...] [--valid-split 0.1] [--streams 32] [--seq-len 128]

The checkpoints load strictly into the CharLM module of docs/FORMATS.md (LSTM, GRU or tanh RNN, as
the metadata says). The validation text is the last --valid-split of TEXT's characters (rnn-fit's
split); it is read as --streams contiguous streams in chunks of --seq-len with the state carried,
exactly as rnn-fit validates (--streams 1: one stream, every character but the first predicted
from all before it). Prints each model's loss and the ensemble's (the log of the mean of the
models' probabilities), in nats per character.
"""
import argparse, json, math
import torch
import torch.nn as nn
import safetensors.torch
from safetensors import safe_open

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharLM(nn.Module):
    def __init__(self, V, E, H, L, cell):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = CELLS[cell](E, H, num_layers=L, batch_first=True)
        self.fc = nn.Linear(H, V)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.fc(out), state


def load(path):
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    assert meta["kind"] == "lm", f"{path}: not a language model"
    sd = safetensors.torch.load_file(path)
    V, E = sd["embedding.weight"].shape
    H = sd["rnn.weight_hh_l0"].shape[1]
    m = CharLM(V, E, H, int(meta["layers"]), meta["model"])
    m.load_state_dict(sd)   # strict
    return m.eval(), json.loads(meta["vocab"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--valid-split", type=float, default=0.1)
    ap.add_argument("--streams", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(2)
    models = [load(p) for p in a.checkpoints]
    vocab = models[0][1]
    assert all(v == vocab for _, v in models), "the checkpoints have different alphabets"
    stoi = {t: i for i, t in enumerate(vocab)}
    ids = [stoi.get(c, 0) for c in open(a.text, encoding="utf-8", errors="replace").read()]
    n = round(len(ids) * a.valid_split)
    valid = torch.tensor(ids[len(ids) - n:])
    B = max(1, min(a.streams, (len(valid) - 1) // a.seq_len))
    S = (len(valid) - 1) // B
    losses, ensemble, count = [0.0] * len(models), 0.0, 0
    states = [None] * len(models)
    with torch.no_grad():
        pos = 0
        while pos < S:
            T = min(a.seq_len, S - pos)
            x = torch.stack([valid[b * S + pos: b * S + pos + T] for b in range(B)])
            y = torch.stack([valid[b * S + pos + 1: b * S + pos + T + 1] for b in range(B)])
            logp = []
            for k, (m, _) in enumerate(models):
                z, states[k] = m(x, states[k])
                lp = torch.log_softmax(z.double(), -1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
                losses[k] -= lp.sum().item()
                logp.append(lp)
            ensemble -= (torch.logsumexp(torch.stack(logp), 0) - math.log(len(models))).sum().item()
            count += B * T
            pos += T
    for p, l in zip(a.checkpoints, losses):
        print(f"{p}\t{l / count:.4f} nats/char")
    if len(models) > 1:
        print(f"ensemble of {len(models)}\t{ensemble / count:.4f} nats/char")
    print(f"({count} characters predicted, {B} streams of chunks of {a.seq_len})")


if __name__ == "__main__":
    main()
