#!/usr/bin/env python3
"""PyTorch side of scripts/bench-lm.sh: the character LM of REFERENCE.md section 5
(embedding -> LSTM -> fc over every step), torch.set_num_threads(2).

  bench_lm_torch.py train STEPS [bf16]       2 layers x 512, E=64, V=65, batch 32, seq 128: Adam
                                             (lr 2e-3), clip 5, state carried and detached; steps/s
                                             (bf16: forward and loss under torch.autocast("cpu",
                                             torch.bfloat16), PyTorch's counterpart of rnn-fit --bf16)
  bench_lm_torch.py sample LAYERS HIDDEN N   batch-1 sampling of N characters at temperature 0.8;
                                             chars/s, best of oneDNN on and off

Prints one line per measurement: "torch <what>: <rate> <unit>".
"""
import sys, time
import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(0)
V, E = 65, 64


class CharLM(nn.Module):
    def __init__(self, layers, hidden):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = nn.LSTM(E, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, V)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.fc(out), state


def train(steps, B=32, T=128, warm=2, bf16=False):
    model = CharLM(2, 512)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    lossf = nn.CrossEntropyLoss()
    data = torch.randint(0, V, (B, (steps + warm) * T + 1))
    state = None
    t0 = None
    for i in range(steps + warm):
        if i == warm:
            t0 = time.perf_counter()
        x = data[:, i * T:(i + 1) * T]
        y = data[:, i * T + 1:(i + 1) * T + 1]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, state = model(x, state)
            loss = lossf(logits.reshape(-1, V).float(), y.reshape(-1))
        state = tuple(s.detach() for s in state)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    dt = time.perf_counter() - t0
    print(f"torch train{' bf16 autocast' if bf16 else ''} 2x512 batch {B} seq {T}: {steps / dt:.3f} steps/s")


@torch.no_grad()
def sample(layers, hidden, n, temp=0.8):
    model = CharLM(layers, hidden).eval()
    best = 0.0
    for onednn in (True, False):
        torch.backends.mkldnn.enabled = onednn
        x = torch.zeros((1, 1), dtype=torch.long)
        state = None
        for i in range(n + 50):
            if i == 50:
                t0 = time.perf_counter()
            logits, state = model(x, state)
            p = torch.softmax(logits[0, -1] / temp, dim=-1)
            x = torch.multinomial(p, 1).view(1, 1)
        rate = n / (time.perf_counter() - t0)
        best = max(best, rate)
    torch.backends.mkldnn.enabled = True
    print(f"torch sample {layers}x{hidden}: {best:.0f} chars/s")


if sys.argv[1] == "train":
    train(int(sys.argv[2]), bf16=sys.argv[3:4] == ["bf16"])
else:
    sample(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
