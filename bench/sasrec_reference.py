#!/usr/bin/python3
"""Timing reference: the public PyTorch SASRec training step, re-implemented for a side-by-side speed comparison.

The model and the loop follow the public SASRec PyTorch implementation's design (Kang & McAuley 2018, as ported to
PyTorch): learnt absolute positions, blocks of [layer norm on the query -> multi-head attention -> residual ->
layer norm -> point-wise feed-forward (two 1x1 convolutions, ReLU) -> residual], a final layer norm, binary
cross-entropy on one positive and one sampled negative per position, Adam (lr 1e-3, betas 0.9/0.98), every batch
padded to max_len, one epoch = ceil(users / batch) batches of randomly drawn users. Only training time is measured
(no evaluation). Runs on Debian's python3-torch (the same torch 1.13 that vane's libtorch comes from).

    /usr/bin/python3 bench/sasrec_reference.py ../shared/datasets/ml-1m/ml-1m_sasrec.txt --epochs 2 --threads 2
"""
import argparse
import math
import time

import numpy as np
import torch


class FeedForward(torch.nn.Module):
    def __init__(self, d, p):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(d, d, kernel_size=1)
        self.conv2 = torch.nn.Conv1d(d, d, kernel_size=1)
        self.drop1 = torch.nn.Dropout(p)
        self.drop2 = torch.nn.Dropout(p)

    def forward(self, x):  # (B, T, d)
        y = self.drop2(self.conv2(torch.relu(self.drop1(self.conv1(x.transpose(-1, -2))))))
        return y.transpose(-1, -2) + x


class SASRec(torch.nn.Module):
    def __init__(self, n_items, d, blocks, heads, max_len, p):
        super().__init__()
        self.item = torch.nn.Embedding(n_items + 1, d, padding_idx=0)
        self.pos = torch.nn.Embedding(max_len, d)
        self.drop = torch.nn.Dropout(p)
        self.att_ln = torch.nn.ModuleList([torch.nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.att = torch.nn.ModuleList([torch.nn.MultiheadAttention(d, heads, p) for _ in range(blocks)])
        self.ff_ln = torch.nn.ModuleList([torch.nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.ff = torch.nn.ModuleList([FeedForward(d, p) for _ in range(blocks)])
        self.last_ln = torch.nn.LayerNorm(d, eps=1e-8)
        self.d = d

    def feats(self, seq):  # seq: (B, T) ids, 0 = padding
        x = self.item(seq) * math.sqrt(self.d)
        x = x + self.pos(torch.arange(seq.shape[1]).unsqueeze(0))
        x = self.drop(x)
        keep = (seq != 0).unsqueeze(-1)
        x = x * keep
        T = seq.shape[1]
        causal = ~torch.tril(torch.ones((T, T), dtype=torch.bool))
        for i in range(len(self.att)):
            x = x.transpose(0, 1)
            q = self.att_ln[i](x)
            y, _ = self.att[i](q, x, x, attn_mask=causal)
            x = (q + y).transpose(0, 1)
            x = self.ff[i](self.ff_ln[i](x))
            x = x * keep
        return self.last_ln(x)

    def forward(self, seq, pos, neg):
        h = self.feats(seq)
        return (h * self.item(pos)).sum(-1), (h * self.item(neg)).sum(-1)


def load(path):
    users = {}
    with open(path) as f:
        for line in f:
            u, i = line.split()
            users.setdefault(int(u), []).append(int(i))
    n_items = max(max(s) for s in users.values())
    # Leave-one-out: the last two items are validation and test, as in the evaluation protocol.
    train = [s[:-2] for s in users.values() if len(s) >= 3]
    return train, n_items


def batch(train, n_items, size, max_len, rng):
    seq = np.zeros((size, max_len), dtype=np.int64)
    pos = np.zeros_like(seq)
    neg = np.zeros_like(seq)
    for r, u in enumerate(rng.integers(0, len(train), size)):
        s = train[u]
        inp, tgt = s[:-1][-max_len:], s[1:][-max_len:]
        n = len(inp)
        seq[r, max_len - n:] = inp
        pos[r, max_len - n:] = tgt
        neg[r, max_len - n:] = rng.integers(1, n_items + 1, n)  # (the original also rejects the user's own items)
    return torch.from_numpy(seq), torch.from_numpy(pos), torch.from_numpy(neg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    train, n_items = load(a.data)
    model = SASRec(n_items, a.dim, a.blocks, a.heads, a.max_len, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    bce = torch.nn.BCEWithLogitsLoss()
    steps = math.ceil(len(train) / a.batch)
    print(f"sasrec reference | {a.data} | users {len(train)} items {n_items} | dim {a.dim} blocks {a.blocks} "
          f"heads {a.heads} max_len {a.max_len} batch {a.batch} | torch {torch.__version__} threads {a.threads}")
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0, sample_s, loss_sum, tokens = time.time(), 0.0, 0.0, 0
        for _ in range(steps):
            ts = time.time()
            seq, pos, neg = batch(train, n_items, a.batch, a.max_len, rng)
            sample_s += time.time() - ts
            pl, nl = model(seq, pos, neg)
            m = pos != 0
            loss = bce(pl[m], torch.ones_like(pl[m])) + bce(nl[m], torch.zeros_like(nl[m]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            tokens += int(m.sum())
        sec = time.time() - t0
        print(f"epoch {epoch} | loss {loss_sum / steps:.4f} | {sec:.1f} s (sampling {sample_s:.1f} s) | "
              f"{tokens / sec:.0f} tokens/s")


if __name__ == "__main__":
    main()
