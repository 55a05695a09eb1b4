#!/usr/bin/env python3
"""Make the PyTorch parity fixture: PyTorch's logits and cross-entropy for a model Quill wrote.

The fixture lets Quill's tests compare its forward pass and its evaluation with PyTorch's
own nn.Embedding -> nn.LSTM -> nn.Linear, on the same weights, without PyTorch installed
when the tests run. Made once, committed, re-made only when the model or text changes:

    # 1. a small model written by Quill itself (trained briefly so the weights are not just an init)
    quill train Tests/QuillTests/Fixtures/torch_parity/train.txt --doc-separator % \
        --out /tmp/parity --embed 8 --hidden 16 --layers 2 --batch 4 --seq 16 --steps 40 \
        --eval-every 40 --dropout 0 --sample-length 0
    cp /tmp/parity/model.safetensors Tests/QuillTests/Fixtures/torch_parity/model.safetensors
    # 2. PyTorch's numbers on it
    python3 scripts/make_torch_fixture.py Tests/QuillTests/Fixtures/torch_parity

The folder holds model.safetensors (Quill's), eval.txt (held-out text, documents separated
by lines holding '%'), and receives expected.json:
- tokens: the token stream [DOC] d1 [DOC] d2 ... [DOC], made here from the text with
  Python's own NFC and the vocabulary in the model's metadata (an independent tokenizer);
- logits: PyTorch's logits for every input position of that stream read as one lane, the
  state reset to zero before every [DOC] (each document run from a zero state);
- nats_per_char_lanes_1: mean cross-entropy of every target, one lane;
- nats_per_char_lanes_4: the same with the stream cut into 4 lanes the way Quill's Evaluator
  cuts it (equal lanes of (T-1)//4 targets, the remainder scored after the last lane,
  continuing it), each lane from a zero state.
It also checks that load_state_dict(strict=True) accepts Quill's file.
"""
import json
import math
import os
import sys
import unicodedata

import torch
import torch.nn as nn
from safetensors.torch import load_file


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)


def documents(text, separator="%"):
    """Documents of a file whose lines equal to `separator` separate them; each keeps its line breaks."""
    docs, current = [], []
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == separator:
            docs.append("".join(current))
            current = []
        else:
            current.append(line)
    docs.append("".join(current))
    return [d for d in docs if d.strip("\r\n") != ""]


def run_lane(model, ids):
    """Logits [len(ids), V] for one lane read from a zero state, reset before every [DOC] (id 0)."""
    out, start = [], 0
    cuts = [i for i, t in enumerate(ids) if t == 0 and i > 0] + [len(ids)]
    state = None
    for cut in cuts:
        segment = torch.tensor([ids[start:cut]])
        if ids[start] == 0:
            state = None  # reset exactly before [DOC]
        h, state = model.lstm(model.embedding(segment), state)
        out.append(model.decoder(h)[0])
        start = cut
    return torch.cat(out)


def cross_entropy_sum(model, stream):
    inputs, targets = stream[:-1], stream[1:]
    logits = run_lane(model, inputs)
    return nn.functional.cross_entropy(logits.double(), torch.tensor(targets), reduction="sum").item(), logits


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "Tests/QuillTests/Fixtures/torch_parity"
    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "quill.char-lstm", meta.get("format")
    V, E, H, L = (int(meta[k]) for k in ("vocab_size", "embed_size", "hidden_size", "layers"))
    model = CharLSTM(V, E, H, L)
    model.load_state_dict(tensors, strict=True)  # Quill's names and shapes, exactly
    model.eval()

    vocabulary = json.loads(meta["vocabulary"])
    index = {cp: i + 1 for i, cp in enumerate(vocabulary)}
    form = meta["normalization"]
    text = open(os.path.join(folder, "eval.txt"), encoding="utf-8").read()
    stream = []
    for doc in documents(text):
        doc = unicodedata.normalize(form, doc)
        stream.append(0)
        stream.extend(index[ord(c)] for c in doc)
    stream.append(0)

    with torch.no_grad():
        total1, logits = cross_entropy_sum(model, stream)
        targets = len(stream) - 1
        lanes = 4
        n = targets // lanes
        total4 = 0.0
        for b in range(lanes):
            end = targets if b == lanes - 1 else (b + 1) * n
            total4 += cross_entropy_sum(model, stream[b * n : end + 1])[0]

    expected = dict(
        made_by="scripts/make_torch_fixture.py with torch " + torch.__version__,
        vocab_size=V, tokens=stream,
        logits=[round(float(x), 7) for x in logits.flatten()],
        nats_per_char_lanes_1=total1 / targets,
        nats_per_char_lanes_4=total4 / targets,
        targets=targets,
    )
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(f"{targets} targets; lanes 1: {total1 / targets:.6f} nats/char (perplexity {math.exp(total1 / targets):.4f}); "
          f"lanes 4: {total4 / targets:.6f}")


if __name__ == "__main__":
    main()
