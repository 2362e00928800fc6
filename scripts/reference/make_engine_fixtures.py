#!/usr/bin/env python3
"""PyTorch twin of RNNEngine: writes reference tensors for the Swift tests.

Builds the classifier / language-model modules of REFERENCE.md section 4 in PyTorch with small
sizes, sets known parameters, runs forward, loss, backward and 5 Adam steps on a small batch, and
writes every tensor to Tests/RNNEngineTests/Fixtures/<case>.safetensors:

  meta (safetensors metadata): cell, task, bidirectional, layers, vocab, embed, hidden, outputs,
        padding_index, mode (packed|padded), lr, weight_decay, clip (0 = none), steps, pool
        (last|max|mean|concat: the classifier's features, see Classifier.features)
  tokens [sum lengths] int32 (sequences back to back, as the Swift API takes them)
  real_steps [B, 2] int32 (padded cases: first and end step of each sequence's real tokens,
        the Swift API's realSteps; pads in front of even and after odd sequences)
  lengths [B] int32, labels [B] int32 (multi-label cases, meta head = multi_label: [B, O] 0/1
        targets of a sigmoid-per-label head trained with nn.BCEWithLogitsLoss, mean reduction)
  init.<name>   parameters before training (PyTorch state_dict names)
  logits [B, O], loss [1]          first forward
  grad.<name>   gradients of the first backward
  losses [steps]                   loss before each Adam step
  final.<name>  parameters after `steps` Adam steps (each step: forward, backward, clip?, step)

Language-model case: inputs/targets [steps, B, T] int32 (one chunk per step, state carried and
detached between chunks), h0/c0 zero, grad.<name> of the second chunk (non-zero carried state),
logits of the first chunk [B*T, V], hn/cn after the last chunk.

Run: /work/venv/bin/python scripts/reference/make_engine_fixtures.py [CASE ...] (needs torch,
safetensors; without CASE names, every case is written).
"""
import os
import sys
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from safetensors.torch import save_file

torch.set_default_dtype(torch.float32)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "RNNEngineTests", "Fixtures")

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Classifier(nn.Module):
    def __init__(self, cell, V, E, H, L, bi, O, pad, pool="last"):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=pad)
        self.rnn = CELLS[cell](E, H, num_layers=L, bidirectional=bi, batch_first=True)
        self.fc = nn.Linear(H * (2 if bi else 1) * (3 if pool == "concat" else 1), O)
        self.bi, self.pool = bi, pool

    def features(self, out, hidden, mask):
        """out [B, T, D*H] (zeros at pads when packed), h_n [L*D, B, H], mask [B, T] true at the
        real tokens: last = [h_n forward | h_n backward] of the last layer; max / mean over the
        real steps only (pads masked out, as code using the lengths does); concat = all three."""
        last = torch.cat((hidden[-2], hidden[-1]), dim=1) if self.bi else hidden[-1]
        m = mask.unsqueeze(2)
        mx = out.masked_fill(~m, float("-inf")).max(dim=1).values
        mean = (out * m).sum(dim=1) / m.sum(dim=1)
        return {"last": last, "max": mx, "mean": mean, "concat": torch.cat((last, mx, mean), dim=1)}[self.pool]

    def forward(self, padded, lengths, mode, mask):
        emb = self.embedding(padded)
        if mode == "packed":
            packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            out, hidden = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=padded.shape[1])
        else:
            out, hidden = self.rnn(emb)
        if isinstance(hidden, tuple):
            hidden = hidden[0]
        return self.fc(self.features(out, hidden, mask))


class LanguageModel(nn.Module):
    def __init__(self, cell, V, E, H, L):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = CELLS[cell](E, H, num_layers=L, batch_first=True)
        self.fc = nn.Linear(H, V)

    def forward(self, x, state):
        out, state = self.rnn(self.embedding(x), state)
        return self.fc(out), state


def set_known(model, gen, pad=None):
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=torch.float32) - 0.5)
            if name == "embedding.weight":
                p.mul_(2.0)
                if pad is not None:
                    p[pad].zero_()


def tensors_of(prefix, model):
    return {f"{prefix}.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def classifier_case(name, cell, bi, layers, outputs, mode, lengths, lr=1e-2, wd=0.0, clip=0.0, steps=5, seed=0,
                    multilabel=False, pool="last", mixed_pads=False):
    V, E, H, pad = 23, 6, 12, 1
    gen = torch.Generator().manual_seed(1234 + seed)
    model = Classifier(cell, V, E, H, layers, bi, outputs, pad, pool)
    set_known(model, gen, pad)
    B = len(lengths)
    T = max(lengths)
    seqs = [torch.randint(0, V, (l,), generator=gen) for l in lengths]
    for s in seqs:  # some padding-id tokens inside real text too (must get no gradient)
        s[s == pad] = 2
    seqs[0][len(seqs[0]) // 2] = pad
    if multilabel:
        labels = torch.randint(0, 2, (B, outputs), generator=gen)
        labels[0].fill_(1)  # every label at once,
        labels[1].zero_()  # and none
    elif outputs == 1:
        labels = torch.randint(0, 2, (B,), generator=gen)
    else:
        labels = torch.randint(0, outputs, (B,), generator=gen)
    if mode == "packed":
        padded = torch.full((B, T), pad, dtype=torch.long)
        for i, s in enumerate(seqs):
            padded[i, : len(s)] = s
        given = torch.cat(seqs)
        given_lengths = lengths
    else:  # padded in front (pad_first), pads are real steps; Swift gets the padded rows
        # (mixed_pads: pads in front of even sequences, after odd ones, for the pooling heads)
        padded = torch.full((B, T), pad, dtype=torch.long)
        for i, s in enumerate(seqs):
            front = T - len(s) if not mixed_pads or i % 2 == 0 else 0
            padded[i, front:front + len(s)] = s
        given = padded.reshape(-1)
        given_lengths = [T] * B
    mask = torch.zeros((B, T), dtype=torch.bool)  # the real tokens' steps (pad ids inside real text count)
    starts = []
    for i, s in enumerate(seqs):
        front = T - len(s) if mode == "padded" and (not mixed_pads or i % 2 == 0) else 0
        mask[i, front:front + len(s)] = True
        starts.append([front, front + len(s)])

    def loss_fn(logits):
        if multilabel:
            return nn.BCEWithLogitsLoss()(logits, labels.float())
        if outputs == 1:
            return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), labels.float())
        return nn.functional.cross_entropy(logits, labels)

    t = {
        "tokens": given.to(torch.int32),
        "lengths": torch.tensor(given_lengths, dtype=torch.int32),
        "labels": labels.to(torch.int32),
    }
    if mode == "padded":
        t["real_steps"] = torch.tensor(starts, dtype=torch.int32)
    t.update(tensors_of("init", model))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        logits = model(padded, torch.tensor(lengths), mode, mask)
        loss = loss_fn(logits)
        loss.backward()
        if step == 0:
            t["logits"] = logits.detach().clone()
            t["loss"] = loss.detach().reshape(1).clone()
            for k, p in model.named_parameters():
                t[f"grad.{k}"] = p.grad.detach().clone()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        losses.append(loss.item())
        opt.step()
    t["losses"] = torch.tensor(losses, dtype=torch.float32)
    t.update(tensors_of("final", model))
    meta = dict(cell=cell, task="classifier", bidirectional=str(bi).lower(), layers=str(layers), vocab=str(V),
                embed=str(E), hidden=str(H), outputs=str(outputs), padding_index=str(pad), mode=mode, lr=repr(lr),
                weight_decay=repr(wd), clip=repr(clip), steps=str(steps), pool=pool,
                head="multi_label" if multilabel else ("binary" if outputs == 1 else "multi_class"))
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
    print(name, "loss", t["loss"].item(), "losses", [round(x, 6) for x in losses])


def lm_case(name, cell, layers, B=3, T=7, steps=5, lr=1e-2, seed=7):
    V, E, H = 17, 5, 12
    gen = torch.Generator().manual_seed(99 + seed)
    model = LanguageModel(cell, V, E, H, layers)
    set_known(model, gen)
    stream = torch.randint(0, V, (B, steps * T + 1), generator=gen)
    inputs = torch.stack([stream[:, s * T:(s + 1) * T] for s in range(steps)])
    targets = torch.stack([stream[:, s * T + 1:(s + 1) * T + 1] for s in range(steps)])
    t = {"inputs": inputs.to(torch.int32).contiguous(), "targets": targets.to(torch.int32).contiguous()}
    t.update(tensors_of("init", model))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state = None
    losses = []
    for s in range(steps):
        opt.zero_grad()
        logits, state = model(inputs[s], state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), targets[s].reshape(-1))
        loss.backward()
        if s == 0:
            t["logits"] = logits.detach().reshape(B * T, V).clone()
            t["loss"] = loss.detach().reshape(1).clone()
        if s == 1:
            for k, p in model.named_parameters():
                t[f"grad.{k}"] = p.grad.detach().clone()
        losses.append(loss.item())
        opt.step()
        state = tuple(x.detach() for x in state) if isinstance(state, tuple) else state.detach()
    t["losses"] = torch.tensor(losses, dtype=torch.float32)
    if isinstance(state, tuple):
        t["hn"], t["cn"] = state[0].clone(), state[1].clone()
    else:
        t["hn"] = state.clone()
    t.update(tensors_of("final", model))
    meta = dict(cell=cell, task="languageModel", bidirectional="false", layers=str(layers), vocab=str(V), embed=str(E),
                hidden=str(H), outputs=str(V), padding_index="", mode="lm", lr=repr(lr), weight_decay="0.0",
                clip="0.0", steps=str(steps), batch=str(B), time=str(T))
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
    print(name, "losses", [round(x, 6) for x in losses])


CASES = {
    "lstm_bi2_packed": lambda n: classifier_case(n, "lstm", True, 2, 1, "packed", RAGGED, seed=1),
    "lstm_bi2_padded": lambda n: classifier_case(n, "lstm", True, 2, 1, "padded", RAGGED, seed=2),
    "gru_bi2_packed": lambda n: classifier_case(n, "gru", True, 2, 1, "packed", RAGGED, seed=3, wd=0.01),
    "gru_bi2_padded": lambda n: classifier_case(n, "gru", True, 2, 1, "padded", RAGGED, seed=4),
    "rnn_bi2_packed": lambda n: classifier_case(n, "rnn", True, 2, 1, "packed", RAGGED, seed=5, clip=0.5),
    "lstm_uni2_packed": lambda n: classifier_case(n, "lstm", False, 2, 1, "packed", RAGGED, seed=6),
    "gru_uni1_padded": lambda n: classifier_case(n, "gru", False, 1, 1, "padded", RAGGED, seed=7),
    "rnn_uni2_padded": lambda n: classifier_case(n, "rnn", False, 2, 1, "padded", RAGGED, seed=8),
    "gru_bi2_multiclass": lambda n: classifier_case(n, "gru", True, 2, 4, "packed", RAGGED, seed=9, clip=1.0),
    "lstm_uni1_multiclass": lambda n: classifier_case(n, "lstm", False, 1, 3, "packed", RAGGED, seed=10, wd=0.05),
    "gru_bi2_multilabel": lambda n: classifier_case(n, "gru", True, 2, 5, "packed", RAGGED, seed=11, clip=1.0, multilabel=True),
    "lstm_uni1_multilabel_padded": lambda n: classifier_case(n, "lstm", False, 1, 3, "padded", RAGGED, seed=12, wd=0.01,
                                                             multilabel=True),
    # pooling heads (max / mean over the real steps, concat = [last | max | mean]), packed and padded
    "gru_bi2_concat_packed": lambda n: classifier_case(n, "gru", True, 2, 1, "packed", RAGGED, seed=13, pool="concat"),
    "lstm_bi1_concat_padded": lambda n: classifier_case(n, "lstm", True, 1, 3, "padded", RAGGED, seed=14, pool="concat",
                                                        mixed_pads=True),
    "lstm_uni2_max_packed": lambda n: classifier_case(n, "lstm", False, 2, 3, "packed", RAGGED, seed=15, pool="max", clip=1.0),
    "gru_bi1_max_padded": lambda n: classifier_case(n, "gru", True, 1, 1, "padded", RAGGED, seed=16, pool="max", mixed_pads=True),
    "rnn_bi2_mean_packed": lambda n: classifier_case(n, "rnn", True, 2, 4, "packed", RAGGED, seed=17, pool="mean", wd=0.01),
    "gru_uni1_mean_padded": lambda n: classifier_case(n, "gru", False, 1, 1, "padded", RAGGED, seed=18, pool="mean",
                                                      mixed_pads=True),
    "gru_bi2_concat_multilabel": lambda n: classifier_case(n, "gru", True, 2, 5, "packed", RAGGED, seed=19, pool="concat",
                                                           multilabel=True),
    "lm_lstm2": lambda n: lm_case(n, "lstm", 2),
    "lm_gru1": lambda n: lm_case(n, "gru", 1, seed=8),
    "lm_rnn2": lambda n: lm_case(n, "rnn", 2, seed=9),
}
RAGGED = [9, 3, 6, 1, 9, 4]


def main():
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit(f"unknown case {n} (cases: {', '.join(CASES)})")
        CASES[n](n)


if __name__ == "__main__":
    main()
