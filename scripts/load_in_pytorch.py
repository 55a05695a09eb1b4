#!/usr/bin/env python3
"""Load a Quill model file (model.safetensors) in Python, with NumPy alone or into PyTorch.

A Quill model file is plain safetensors: F32 tensors named as the state dict of

    embedding = nn.Embedding(V, E)
    lstm      = nn.LSTM(E, H, L, batch_first=True)
    decoder   = nn.Linear(H, V)

and string metadata (format, format_version, vocab_size, embed_size, hidden_size, layers,
dropout, normalization, case_fold, vocabulary, step, info.*). The vocabulary is a JSON array
of the code points of ids 1..V-1; id 0 is the [DOC] token that starts every document (the
LSTM state is reset to zero before it is read).

Usage:
    python3 scripts/load_in_pytorch.py model.safetensors          # summary, NumPy only
    python3 scripts/load_in_pytorch.py model.safetensors --torch  # also load_state_dict(strict=True)

In your own code:
    from load_in_pytorch import read_quill_file, QuillLSTM
    tensors, meta = read_quill_file("model.safetensors")
"""
import json
import struct
import sys

import numpy as np


def read_quill_file(path):
    """Returns ({name: float32 array}, metadata dict), checking the layout on the way."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n > 100_000_000 or 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} does not fit the file")
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    if meta.get("format") != "quill.char-lstm":
        raise ValueError(f"{path}: not a Quill model file (format {meta.get('format')!r})")
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        if base + end > len(raw):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = np.frombuffer(raw[base + begin : base + end], dtype="<f4").reshape(info["shape"])
    return tensors, meta


def vocabulary(meta):
    """The characters of ids 0..V-1, with '[DOC]' for id 0."""
    return ["[DOC]"] + [chr(c) for c in json.loads(meta["vocabulary"])]


def QuillLSTM(vocab_size, embed_size, hidden_size, layers, dropout=0.0):
    """The PyTorch module whose state dict matches a Quill model file (imports torch lazily)."""
    import torch.nn as nn

    class _QuillLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.drop = nn.Dropout(dropout)
            self.decoder = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, state=None):
            """ids: [batch, seq] token ids -> logits [batch, seq, V], new (h, c).

            The caller resets state to None before each [DOC] (id 0), as Quill does.
            """
            out, state = self.lstm(self.embedding(ids), state)
            return self.decoder(self.drop(out)), state

    return _QuillLSTM()


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    tensors, meta = read_quill_file(path)
    vocab = vocabulary(meta)
    V, E, H, L = (int(meta[k]) for k in ("vocab_size", "embed_size", "hidden_size", "layers"))
    print(f"{path}: V={V} E={E} H={H} L={L} dropout={meta['dropout']} step={meta['step']} "
          f"normalization={meta['normalization']} case_fold={meta['case_fold']}")
    print("vocabulary:", " ".join(repr(c) for c in vocab))
    assert len(vocab) == V, "vocabulary size disagrees with vocab_size"
    for name, t in tensors.items():
        print(f"  {name:22s} {str(list(t.shape)):12s} mean {t.astype(np.float64).mean():+.5g} std {t.astype(np.float64).std():.5g}")
    for key in sorted(k for k in meta if k.startswith("info.")):
        print(f"  {key} = {meta[key]}")
    if "--torch" in argv:
        import torch

        model = QuillLSTM(V, E, H, L, float(meta["dropout"]))
        state = {name: torch.from_numpy(t.copy()) for name, t in tensors.items()}
        model.load_state_dict(state, strict=True)
        model.eval()
        with torch.no_grad():
            logits, _ = model(torch.zeros(1, 1, dtype=torch.long))
        print("load_state_dict(strict=True) ok; logits after [DOC]:", logits[0, 0].tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
