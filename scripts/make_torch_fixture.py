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
- nats_per_char_lanes_4 and plan_lanes_4: the same scored in at most 4 lanes the way Quill's
  Evaluator does by default (burn-in 192): lanes of (T-1)//lanes targets, the remainder scored
  after the last lane, continuing it; each lane first reads, unscored, the `burn_in` tokens
  before its span from a zero state (resetting at any [DOC] among them); the plan uses fewer
  lanes while a lane is shorter than 8 burn-ins. This equals the one-lane figure;
- nats_per_char_lanes_4_burn_in_16 and plan_lanes_4_burn_in_16: the same with burn-in 16, where
  some lanes start inside a document with only 16 tokens of context (not the sequential figure);
- nats_per_char_lanes_4_from_zero: 4 lanes, each from a zero state with no burn-in.
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


def run_lane(model, ids, state=None):
    """Logits [len(ids), V] and the final state of one lane read from `state` (None: zero),
    reset before every [DOC] (id 0)."""
    out, start = [], 0
    cuts = [i for i, t in enumerate(ids) if t == 0 and i > 0] + [len(ids)]
    for cut in cuts:
        segment = torch.tensor([ids[start:cut]])
        if ids[start] == 0:
            state = None  # reset exactly before [DOC]
        h, state = model.lstm(model.embedding(segment), state)
        out.append(model.decoder(h)[0])
        start = cut
    return torch.cat(out), state


def cross_entropy_sum(model, stream, state=None):
    inputs, targets = stream[:-1], stream[1:]
    logits, _ = run_lane(model, inputs, state)
    return nn.functional.cross_entropy(logits.double(), torch.tensor(targets), reduction="sum").item(), logits


def context_needed(stream, start, burn_in):
    """Tokens before `start` that reach the [DOC] resetting the state there, or the stream's start; at most burn_in."""
    if stream[start] == 0:
        return 0
    for back in range(1, burn_in + 1):
        if start - back < 0:
            return start
        if stream[start - back] == 0:
            return back
    return burn_in


def plan(stream, batch, burn_in, ratio=8):
    """(lanes, lane length, burn-in): the most lanes up to `batch` with every lane at least `ratio` burn-ins long."""
    targets = len(stream) - 1
    if targets <= 1:
        return 1, max(targets, 0), 0
    for lanes in range(min(batch, targets), 0, -1):
        n = targets // lanes
        longest = max([context_needed(stream, b * n, burn_in) for b in range(1, lanes)], default=0)
        if lanes == 1 or lanes * longest * ratio <= targets:
            return lanes, n, longest


def lanes_sum(model, stream, lanes, n, burn_in):
    """Summed cross-entropy of the stream in `lanes` lanes of n targets, each after `burn_in` unscored tokens."""
    targets, total = len(stream) - 1, 0.0
    for b in range(lanes):
        end = targets if b == lanes - 1 else (b + 1) * n
        state = None
        if b > 0 and burn_in > 0:
            _, state = run_lane(model, stream[b * n - burn_in : b * n])
        total += cross_entropy_sum(model, stream[b * n : end + 1], state)[0]
    return total


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
        plan4 = plan(stream, 4, 192)
        total4 = lanes_sum(model, stream, *plan4)
        plan4_16 = plan(stream, 4, 16)
        total4_16 = lanes_sum(model, stream, *plan4_16)
        total4_zero = lanes_sum(model, stream, 4, targets // 4, 0)

    expected = dict(
        made_by="scripts/make_torch_fixture.py with torch " + torch.__version__,
        vocab_size=V, tokens=stream,
        logits=[round(float(x), 7) for x in logits.flatten()],
        nats_per_char_lanes_1=total1 / targets,
        nats_per_char_lanes_4=total4 / targets,
        plan_lanes_4=list(plan4),
        nats_per_char_lanes_4_burn_in_16=total4_16 / targets,
        plan_lanes_4_burn_in_16=list(plan4_16),
        nats_per_char_lanes_4_from_zero=total4_zero / targets,
        targets=targets,
    )
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(f"{targets} targets; lanes 1: {total1 / targets:.6f} nats/char (perplexity {math.exp(total1 / targets):.4f}); "
          f"lanes 4 {plan4}: {total4 / targets:.6f}; lanes 4 with burn-in 16 {plan4_16}: {total4_16 / targets:.6f}; "
          f"4 lanes from zero: {total4_zero / targets:.6f}")


if __name__ == "__main__":
    main()
