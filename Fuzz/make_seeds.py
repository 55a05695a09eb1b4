#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into Fuzz/<target>/seeds/.

Model and training-state seeds are real files made by `quill train` with tiny models on a
small corpus; the others are texts, JSON Lines and safetensors files written here. Seeds are
kept small (a few kilobytes each) so the fuzzer mutates them quickly.

Usage: python3 Fuzz/make_seeds.py [path/to/quill]   (default .build/debug/quill)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def seeds(target):
    folder = os.path.join(HERE, target, "seeds")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def put(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors(tensors, metadata=None, pad=True):
    """The bytes of a safetensors file: tensors is a list of (name, dtype, shape, data)."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


CORPUS = "The café on the corner.\nNaïve coöperation, déjà vu.\n%\nA second document: ÅNGSTRÖM ﬁne ½.\n"
JSONL = '{"text": "Hello, wörld."}\n{"text": "Zweite Zeile ß"}\n{"text": "third\\nline", "id": 3}\n'

# (corpus, flags) for each tiny training run; every run writes a model and a training state.
RUNS = [
    ("small.txt", ["--doc-separator", "%", "--embed", "4", "--hidden", "4", "--layers", "1", "--batch", "2",
                   "--seq", "8", "--steps", "3", "--val-frac", "0.2"]),
    ("small.txt", ["--normalization", "nfd", "--case-fold", "--embed", "3", "--hidden", "2", "--layers", "2",
                   "--batch", "2", "--seq", "4", "--steps", "2"]),
    ("small.jsonl", ["--jsonl-field", "text", "--normalization", "nfkc", "--embed", "2", "--hidden", "3",
                     "--layers", "1", "--batch", "1", "--seq", "4", "--steps", "2", "--dropout", "0"]),
]


def trained_files(quill):
    """(model bytes, training-state bytes) of each tiny run."""
    out = []
    with tempfile.TemporaryDirectory() as work:
        put(work, "small.txt", CORPUS)
        put(work, "small.jsonl", JSONL)
        for i, (corpus, flags) in enumerate(RUNS):
            folder = os.path.join(work, f"run{i}")
            subprocess.run([quill, "train", os.path.join(work, corpus), "--out", folder, *flags],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(folder, "model.safetensors"), "rb") as m, \
                 open(os.path.join(folder, "training-state.safetensors"), "rb") as s:
                out.append((m.read(), s.read()))
    return out


def text_seeds():
    """UTF-8 texts: NFC, NFD, compatibility forms, case folding, reordering, invalid bytes."""
    valid = {
        "ascii": "Plain ASCII text.\nSecond line.\n",
        "nfc": "café déjà vu Ångström naïve\n",
        "nfd": "cafe\u0301 de\u0301ja\u0300 vu A\u030angstro\u0308m\n",
        "hangul": "한국어 \u1112\u1161\u11ab\u1100\u116e\u11a8\n",
        "reorder": "a\u0307\u0323 q\u0323\u0307 \u1e0b\u0323 x\u0301\u0327\u0300\n",
        "compat": "ﬁne ½ ＦＵＬＬ ｗｉｄｔｈ ™ ① ㎏ ﷺ\n",
        "casefold": "Straße İstanbul ΣΊΣΥΦΟΣ ǅ ﬃ K Å\n",
        "emoji": "😀 👩\u200d👩\u200d👧 🇫🇷 e\u0301\n",
        "scripts": "Ελληνικά русский עברית العربية हिन्दी 日本語\n",
        "bom": "\ufeffText after a byte-order mark.\n",
        "crlf": "Windows line\r\nends\r\n",
        "nonchars": "\ufffe\uffff \U0010ffff \U000e0001 \u0000".replace("\u0000", "") + "\n",
    }
    invalid = {
        "overlong": b"ab\xc0\xafcd\n",
        "surrogate": b"x\xed\xa0\x80y\n",
        "above-max": b"x\xf4\x90\x80\x80y\n",
        "truncated": b"caf\xc3",
        "truncated-mid": b"caf\xe2\x82 x\n",
        "lone-continuation": b"a\x80b\n",
        "latin1": "café naïve\n".encode("latin-1"),
        "binary": b"\x01\x02\x03\x04abc\x05\x06\x07\n",
        "nul": b"text\x00more\n",
    }
    # The first byte is the fuzz target's control byte: form, case folding and read size.
    result = {}
    for i, (name, text) in enumerate(valid.items()):
        result[name] = bytes([(i * 37) & 0xFF]) + text.encode("utf-8")
    for i, (name, data) in enumerate(invalid.items()):
        result[name] = bytes([(i * 53 + 1) & 0xFF]) + data
    return result


def jsonl_seeds():
    """JSON Lines (control byte 0: JSON Lines, piece size 1) and separator-line files."""
    lines = {
        "valid": JSONL,
        "escapes": '{"text": "\\u00e9t\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t"}\n',
        "crlf-blank": '{"text": "a"}\r\n\r\n   \n{"text": "b"}\r\n',
        "nested": '{"meta": {"x": [1, 2.5e3, true, false, null]}, "text": "nested"}\n',
        "trailing-comma": '{"text": "x",}\n',
        "lone-surrogate": '{"text": "ok", "other": "\\ud800"}\n',
        "huge-number": '{"text": "ok", "n": 1e999999}\n',
        "not-string": '{"text": 42}\n{"text": null}\n{"text": ["a"]}\n',
        "missing-field": '{"body": "x"}\n',
        "not-object": '["text", "x"]\n"text"\n',
        "no-final-newline": '{"text": "last line"}',
        "duplicate-key": '{"text": "a", "text": "b"}\n',
        "nfd-text": '{"text": "cafe\u0301"}\n',
    }
    result = {}
    for name, text in lines.items():
        result[name] = bytes([0]) + text.encode("utf-8")
    result["invalid-utf8"] = bytes([4]) + b'{"text": "caf\xe9"}\n'
    result["separator-percent"] = bytes([2 | (7 << 2)]) + "one\n%\n\n%\ntwo é\n%\r\nthree\n%".encode("utf-8")
    result["separator-blank"] = bytes([3 | (5 << 2)]) + "first\n  \n\t\nsecond\r\n\r\nthird\n".encode("utf-8")
    return result


def safetensors_seeds(trained):
    f32 = struct.pack("<4f", 0.5, -1.0, 2.0, 0.0)
    result = {
        "empty-header": safetensors([], None),
        "metadata-only": safetensors([], {"format": "pt", "note": "ümlaut \u2028"}),
        "scalar": safetensors([("s", "F64", [], struct.pack("<d", 3.5))]),
        "zero-size": safetensors([("z", "F32", [0, 3], b""), ("a", "F32", [2, 2], f32)]),
        "dtypes": safetensors([(f"t{d}", d, [2], b"\x01" * (2 * s)) for d, s in
                               [("BOOL", 1), ("U8", 1), ("I8", 1), ("F8_E5M2", 1), ("F8_E4M3", 1), ("I16", 2),
                                ("U16", 2), ("F16", 2), ("BF16", 2), ("I32", 4), ("U32", 4), ("F32", 4),
                                ("F64", 8), ("I64", 8), ("U64", 8)]]),
        "unpadded": safetensors([("x", "F32", [4], f32)], {"k": "v"}, pad=False),
        "escaped-names": b"",
    }
    header = b'{"t\\u00e9\\n\\"": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "__metadata__": {"\\ud83d\\ude00": "\\t"}}'
    result["escaped-names"] = struct.pack("<Q", len(header)) + header + b"\x07"
    for i, (model, state) in enumerate(trained):
        result[f"model{i}"] = model
    result["state0"] = trained[0][1]
    return result


def main():
    quill = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "quill")
    trained = trained_files(quill)
    folder = seeds("model-file")
    for i, (model, _) in enumerate(trained):
        put(folder, f"model{i}.safetensors", model)
    folder = seeds("training-state")
    for i, (_, state) in enumerate(trained):
        put(folder, f"state{i}.safetensors", state)
    for target, items in [("utf8-normalize", text_seeds()), ("jsonl-splitter", jsonl_seeds()),
                          ("safetensors-header", safetensors_seeds(trained))]:
        folder = seeds(target)
        for name, data in items.items():
            put(folder, name, data)


if __name__ == "__main__":
    main()
