#!/usr/bin/env python3
"""PyTorch's no-grad forward over the validation split: evaluation characters per second.

The counterpart of `quill bench eval`: the same model shape as the benchmark
(embedding -> nn.LSTM -> linear, freshly initialized), the validation split of the
corpus cut into `--eval-batch` lanes, windows of `--seq`, state carried, summed
cross-entropy. Prints one JSON line with eval_chars_per_s and val_nats_per_char.
"""
import argparse
import json
import time
import unicodedata

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--eval-batch", type=int, default=32)
    p.add_argument("--val-frac", type=float, default=0.1)
    args = p.parse_args()
    text = unicodedata.normalize("NFC", open(args.corpus, encoding="utf-8").read())
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    val = ids[len(ids) - int(len(ids) * args.val_frac):]
    torch.manual_seed(1)
    emb = nn.Embedding(len(vocab), args.embed)
    lstm = nn.LSTM(args.embed, args.hidden, args.layers, batch_first=True)
    dec = nn.Linear(args.hidden, len(vocab))
    n = len(val) // args.eval_batch
    data = val[: n * args.eval_batch].view(args.eval_batch, n)
    with torch.no_grad():
        t = time.perf_counter()
        state, total, count = None, 0.0, 0
        for pos in range(0, n - 1, args.seq):
            x = data[:, pos: min(pos + args.seq, n - 1)]
            y = data[:, pos + 1: pos + 1 + x.shape[1]]
            out, state = lstm(emb(x), state)
            logits = dec(out)
            total += nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1), reduction="sum").item()
            count += y.numel()
        dt = time.perf_counter() - t
    print(json.dumps(dict(mode="eval", impl="pytorch-" + torch.__version__, threads=torch.get_num_threads(),
                          hidden=args.hidden, eval_chars_per_s=round(count / dt, 1),
                          val_nats_per_char=round(total / count, 4))))


if __name__ == "__main__":
    main()
