#!/usr/bin/env python3
"""Export a PyTorch classifier as a checkpoint that rnn-classify runs (docs/FORMATS.md,
"Checkpoints from PyTorch").

The module is the one of REFERENCE.md section 4: children `embedding`, `rnn` (nn.RNN / nn.LSTM /
nn.GRU, batch_first) and `fc`; its state_dict is saved with
`safetensors.torch.save_file(model.state_dict(), path, metadata={...})` plus the metadata
rnn-classify needs (format, version, kind, model, layers, hidden, bidirectional, vocab, labels;
vocab_hash when the tokens come from an rnn-vocab file; head = multi_label for a model with one
independent sigmoid per label, trained with nn.BCEWithLogitsLoss on 0/1 targets [B, labels];
pool = max, mean or concat for a pooling head, see Classifier.features).

The other direction: `--check CKPT RECORDS` builds this module from the metadata of a checkpoint
that rnn-fit wrote (any pooling head, packed or padded), loads its tensors strictly, classifies
the encoded records (an rnn-encode -o file) and prints the mean loss and accuracy, which must equal
the checkpoint's valid_loss / valid_accuracy when RECORDS is the run's --valid data.

Usage:
    # a (randomly initialised, or your trained) model over an rnn-vocab vocabulary:
    export_torch_classifier.py out.ckpt --vocab v.bin --model gru --bidirectional --hidden 128
    # the committed test fixtures (tiny models + the probabilities PyTorch computes for a few inputs):
    export_torch_classifier.py --fixtures Tests/RNNTrainTests/Fixtures
    # load an rnn-fit checkpoint strictly in PyTorch and score its validation data:
    export_torch_classifier.py --check best.ckpt valid.bin

Needs torch, safetensors and numpy (/work/venv/bin/python).
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from safetensors import safe_open
from safetensors.torch import load_file, save_file

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Classifier(nn.Module):
    """embedding -> (bi)RNN/LSTM/GRU -> pooled features of the last layer -> dropout -> fc.

    pool (metadata `pool`): last = the final hidden state(s) (h_n, forward and backward), max /
    mean = over the real time steps of the last layer's output, concat = [last, max, mean]."""

    def __init__(self, cell, V, E, H, layers=1, bidirectional=True, outputs=1, dropout=0.0, pad=1, pool="last"):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=pad)
        self.rnn = CELLS[cell](E, H, num_layers=layers, bidirectional=bidirectional, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(H * (2 if bidirectional else 1) * (3 if pool == "concat" else 1), outputs)
        self.bidirectional, self.pool = bidirectional, pool

    def features(self, out, h, mask):
        """out [B, T, D*H], h_n [L*D, B, H], mask [B, T] (true at the real tokens)."""
        last = torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]
        if self.pool == "last":
            return last
        m = mask.unsqueeze(2)
        mx = out.masked_fill(~m, float("-inf")).max(dim=1).values
        mean = (out * m).sum(dim=1) / m.sum(dim=1)
        return {"max": mx, "mean": mean, "concat": torch.cat([last, mx, mean], dim=1)}[self.pool]

    def forward(self, ids, lengths, padded=False, pad_first=False):
        """ids [B, T], lengths [B] (real tokens). Packed (default): pads after the real tokens are
        skipped. padded: every sequence runs over all T steps (pads before the real tokens when
        pad_first, else after them); max and mean still read only the real tokens."""
        B, T = ids.shape
        steps = torch.arange(T).unsqueeze(0)
        n = lengths.unsqueeze(1)
        mask = steps >= T - n if padded and pad_first else steps < n
        x = self.embedding(ids)
        if padded:
            out, h = self.rnn(x)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, h = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        if isinstance(h, tuple):  # LSTM: (h_n, c_n)
            h = h[0]
        return self.fc(self.dropout(self.features(out, h, mask)))


def check(ckpt, records):
    """Loads an rnn-fit checkpoint strictly into Classifier and scores encoded records."""
    with safe_open(ckpt, framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "rnn-checkpoint" and meta["kind"] == "classifier", meta
    V, E, H, L, O = (int(meta[k]) for k in ("vocab_size", "embed_dim", "hidden", "layers", "outputs"))
    model = Classifier(meta["model"], V, E, H, L, meta["bidirectional"] == "true", O,
                       pool=meta.get("pool", "last"))
    model.load_state_dict(load_file(ckpt))  # strict: every name and shape must match
    model.eval()
    with safe_open(records, framework="np") as f:
        assert f.metadata()["vocab_hash"] == meta["vocab_hash"], "records encoded with another vocabulary"
        ids, offsets, gold = f.get_tensor("ids"), f.get_tensor("offsets"), f.get_tensor("labels")
        assert "label_sets" not in f.keys(), "multi-label records: not handled here"
    rows = [ids[offsets[r]:offsets[r + 1]].astype(np.int64) for r in range(len(gold))]
    padded, first = meta.get("padded") == "true", meta.get("pad_first") == "true"
    T = int(meta["fix_length"]) if padded else max(len(r) for r in rows)
    batch = np.ones((len(rows), T), np.int64)
    for i, r in enumerate(rows):
        if padded and first:
            batch[i, T - len(r):] = r
        else:
            batch[i, :len(r)] = r
    lengths = torch.tensor([len(r) for r in rows])
    with torch.no_grad():
        logits = model(torch.tensor(batch), lengths, padded=padded, pad_first=first)
    y = torch.tensor(gold, dtype=torch.int64)
    if O == 1:
        loss = nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.float())
        predicted = (logits[:, 0] > 0).long()
    else:
        loss = nn.functional.cross_entropy(logits, y)
        predicted = logits.argmax(1)
    accuracy = (predicted == y).float().mean().item()
    want_loss, want_acc = float(meta["valid_loss"]), float(meta["valid_accuracy"])
    print(f"{ckpt} (pool {meta.get('pool', 'last')}, {'padded' if padded else 'packed'}): loaded strictly; "
          f"{len(rows)} records: loss {loss.item():.6f} (checkpoint {want_loss:.6f}), "
          f"accuracy {accuracy:.4f} (checkpoint {want_acc:.4f})")
    assert abs(loss.item() - want_loss) < 1e-4 * max(1.0, want_loss), "loss differs"
    assert abs(accuracy - want_acc) < 1e-6, "accuracy differs"


def metadata(cell, layers, hidden, bidirectional, tokens, labels, vocab_hash="", **extra):
    """The metadata rnn-classify reads (strings only). vocab_size, embed_dim and outputs may be
    left out: they are read from the tensor shapes."""
    m = {
        "format": "rnn-checkpoint", "version": "1", "kind": "classifier",
        "model": cell, "layers": str(layers), "hidden": str(hidden),
        "bidirectional": "true" if bidirectional else "false",
        "vocab": json.dumps(tokens, ensure_ascii=False), "labels": json.dumps(labels, ensure_ascii=False),
        "vocab_hash": vocab_hash, "vocab_kind": "words", "padding_idx": "1",
    }
    m.update({k: str(v) for k, v in extra.items()})
    return m


def read_vocab(path):
    """Tokens, labels, hash and vectors of an rnn-vocab file (docs/FORMATS.md section 2)."""
    def strings(f, data, offsets):
        b, o = f.get_tensor(data).tobytes(), f.get_tensor(offsets)
        return [b[o[i]:o[i + 1]].decode("utf-8") for i in range(len(o) - 1)]
    with safe_open(path, framework="np") as f:
        meta = f.metadata()
        assert meta["format"] == "rnn-vocab" and meta["version"] == "1", meta
        vectors = f.get_tensor("vectors") if "vectors" in f.keys() else None
        return strings(f, "tokens", "token_offsets"), strings(f, "labels", "label_offsets"), meta["hash"], vectors


def export(args):
    torch.manual_seed(args.seed)
    if args.vocab:
        tokens, labels, vhash, vectors = read_vocab(args.vocab)
    else:
        tokens = ["<unk>", "<pad>"] + [f"w{i}" for i in range(args.vocab_size - 2)]
        labels, vhash, vectors = [], "", None
    if args.labels:
        labels = args.labels.split(",")
    assert len(labels) >= 2, "need at least two labels (--labels a,b or a vocabulary with labels)"
    E = vectors.shape[1] if vectors is not None and not args.embed_dim else (args.embed_dim or 50)
    outputs = len(labels) if args.multi_label or len(labels) > 2 else 1
    model = Classifier(args.model, len(tokens), E, args.hidden, args.layers, args.bidirectional, outputs, pool=args.pool)
    if vectors is not None and E == vectors.shape[1]:
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(vectors))
    extra = {"fix_length": args.fix_length} if args.fix_length else {}
    if args.multi_label:
        extra["head"] = "multi_label"
    if args.pool != "last":
        extra["pool"] = args.pool
    save_file(model.state_dict(), args.output,
              metadata=metadata(args.model, args.layers, args.hidden, args.bidirectional, tokens, labels, vhash, **extra))
    print(f"wrote {args.output}: {args.model}, V={len(tokens)}, E={E}, H={args.hidden}, labels {labels}")


# Fixtures: tiny models, a few texts, PyTorch's probabilities. Tokens are whitespace-split words.
FIXTURE_TOKENS = ["<unk>", "<pad>", "the", "film", "good", "bad", "great", "plot", "awful", "a", "not", "was"]
FIXTURE_TEXTS = [
    "the film was good",
    "a bad bad plot",
    "great",
    "the plot was not great but the film was awful and not good",
    "unknown words map to unk film",
    "good good good good good good good good good good good good good good good good bad",
]
FIXTURE_CASES = [
    # name, cell, layers, bidirectional, labels, E, H, sizes in metadata, padded view length (0: packed),
    # multi-label (one sigmoid per label: probabilities sigmoid(logits), metadata head = multi_label),
    # pooling head (metadata pool; default last)
    ("torch_bigru_binary", "gru", 1, True, ["neg", "pos"], 5, 4, False, 0),
    ("torch_lstm2_3class", "lstm", 2, False, ["a", "b", "c"], 6, 5, True, 0),
    ("torch_birnn2_binary", "rnn", 2, True, ["no", "yes"], 4, 3, True, 0),
    # the reference tutorial's semantics: fixed length 8, pads in front, run through the recurrence
    ("torch_bilstm_padded", "lstm", 1, True, ["neg", "pos"], 5, 4, False, 8),
    ("torch_bigru_multilabel", "gru", 1, True, ["food", "music", "sport"], 5, 4, True, 0, True),
    ("torch_bigru_concat", "gru", 2, True, ["a", "b", "c"], 5, 4, True, 0, False, "concat"),
    ("torch_bilstm_max_padded", "lstm", 1, True, ["neg", "pos"], 5, 4, False, 8, False, "max"),
    ("torch_gru_mean", "gru", 1, False, ["neg", "pos"], 4, 3, False, 0, False, "mean"),
]


def fixtures(out):
    os.makedirs(out, exist_ok=True)
    stoi = {t: i for i, t in enumerate(FIXTURE_TOKENS)}
    expected = {}
    for i, (name, cell, layers, bi, labels, E, H, sizes, T, *rest) in enumerate(FIXTURE_CASES):
        torch.manual_seed(100 + i)
        multi = bool(rest and rest[0])
        pool = rest[1] if len(rest) > 1 else "last"
        outputs = len(labels) if multi or len(labels) > 2 else 1
        model = Classifier(cell, len(FIXTURE_TOKENS), E, H, layers, bi, outputs, dropout=0.3, pool=pool).eval()
        ids = [[stoi.get(w, 0) for w in t.split()] for t in FIXTURE_TEXTS]
        extra = {"vocab_size": len(FIXTURE_TOKENS), "embed_dim": E, "outputs": outputs} if sizes else {}
        if multi:
            extra["head"] = "multi_label"
        if pool != "last":
            extra["pool"] = pool
        with torch.no_grad():
            if T:
                # keep the first T tokens, pads (1) in front: every sequence runs over T steps
                fed = [[1] * (T - len(x[:T])) + x[:T] for x in ids]
                logits = model(torch.tensor(fed), torch.tensor([len(x[:T]) for x in ids]), padded=True, pad_first=True)
                extra.update({"padded": "true", "pad_first": "true", "fix_length": T})
            else:
                fed = ids
                lengths = torch.tensor([len(x) for x in ids])
                padded = torch.full((len(ids), int(lengths.max())), 1, dtype=torch.long)
                for r, x in enumerate(ids):
                    padded[r, :len(x)] = torch.tensor(x)
                logits = model(padded, lengths)
        if multi:
            probs = torch.sigmoid(logits)
        else:
            probs = torch.sigmoid(logits[:, 0]) if outputs == 1 else torch.softmax(logits, dim=1)
        path = os.path.join(out, name + ".safetensors")
        save_file(model.state_dict(), path,
                  metadata=metadata(cell, layers, H, bi, FIXTURE_TOKENS, labels, **extra))
        expected[name] = {
            "labels": labels,
            "records": [{"text": t, "ids": x, "probs": ([1 - p, p] if outputs == 1 and not multi else p)}
                        for t, x, p in zip(FIXTURE_TEXTS, fed, probs.double().tolist())],
        }
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    with open(os.path.join(out, "torch_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("output", nargs="?", help="checkpoint to write")
    p.add_argument("--fixtures", metavar="DIR", help="write the test fixtures to DIR instead")
    p.add_argument("--vocab", help="rnn-vocab file: tokens, labels, hash (and vectors for the embedding)")
    p.add_argument("--vocab-size", type=int, default=100, help="without --vocab: V of a dummy vocabulary")
    p.add_argument("--labels", help="label names, comma-separated (default: the vocabulary's)")
    p.add_argument("--model", choices=sorted(CELLS), default="gru")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embed-dim", type=int, default=0, help="E (default: the vectors' dimension, else 50)")
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--multi-label", action="store_true", help="one sigmoid output per label (metadata head = multi_label)")
    p.add_argument("--fix-length", type=int, default=0, help="record the training fixed length (rnn-classify truncates to it)")
    p.add_argument("--pool", choices=["last", "max", "mean", "concat"], default="last", help="pooling head (metadata pool)")
    p.add_argument("--check", nargs=2, metavar=("CKPT", "RECORDS"),
                   help="load an rnn-fit checkpoint strictly and score encoded records (its --valid data)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.check:
        check(*args.check)
    elif args.fixtures:
        fixtures(args.fixtures)
    elif args.output:
        export(args)
    else:
        p.error("give an output checkpoint or --fixtures DIR")


if __name__ == "__main__":
    main()
