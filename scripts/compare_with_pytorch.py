#!/usr/bin/env python3
"""Runs Quill and the PyTorch peer alternately on the benchmark configurations and prints ratios.

    python3 scripts/compare_with_pytorch.py                 # every figure, 3 rounds each
    python3 scripts/compare_with_pytorch.py --figures train --configs medium --rounds 5

Each round runs Quill then PyTorch (A B A B ...), both with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset, so both pick their AVX-512 kernels. The figure of each side
is the median over rounds; the ratio is Quill / PyTorch (higher is better for speed,
lower is better for memory). Peak resident memory comes from /usr/bin/time -v.
If PyTorch is not installed, Quill's figures are printed alone.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIGS = {
    "small": dict(embed=64, hidden=128, layers=2, batch=32, seq=64),
    "medium": dict(embed=64, hidden=512, layers=2, batch=32, seq=64),
    "large": dict(embed=64, hidden=1024, layers=2, batch=32, seq=64),
}


def run(cmd, env):
    """Runs a command under /usr/bin/time -v; returns its last JSON line and peak RSS in MB."""
    timed = ["/usr/bin/time", "-v"] + cmd
    p = subprocess.run(timed, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed with status {p.returncode}:\n{p.stderr[-2000:]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"error: {' '.join(cmd)} printed no JSON line")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return json.loads(lines[-1]), (int(rss.group(1)) / 1024 if rss else float("nan"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quill", default=os.path.join(ROOT, ".build/release/quill"))
    p.add_argument("--torch-baseline", default=os.path.join(ROOT, "../shared/bench/torch_baseline.py"))
    p.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpora/tinyshakespeare.txt"))
    p.add_argument("--configs", default="small,medium,large")
    p.add_argument("--figures", default="train,sample,eval,memory",
                   help="comma-separated: train, sample, eval (at the precision quill train chooses on this CPU), eval32 (float32), memory")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=30, help="timed training steps per run")
    args = p.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    try:
        import torch  # noqa: F401
        have_torch = os.path.exists(args.torch_baseline)
    except ImportError:
        have_torch = False
    if not have_torch:
        print("note: PyTorch or torch_baseline.py is missing; printing Quill's figures alone", file=sys.stderr)
    if not os.path.exists(args.quill):
        sys.exit(f"error: {args.quill} is missing; build it with 'swift build -c release'")

    figures = args.figures.split(",")
    rows = []
    for name in args.configs.split(","):
        c = CONFIGS[name]
        sizes = ["--embed", str(c["embed"]), "--hidden", str(c["hidden"]), "--layers", str(c["layers"]),
                 "--batch", str(c["batch"]), "--seq", str(c["seq"])]
        jobs = []
        if "train" in figures:
            jobs.append(("train_chars_per_s", "throughput", ["--steps", str(args.steps)], None))
        if "memory" in figures and name == "medium":
            jobs.append(("peak_rss_mb", "throughput", ["--steps", str(args.steps)], None))
        if "sample" in figures and name == "medium":
            jobs.append(("sample_chars_per_s", "sample", ["--length", "2000"], None))
        if "eval" in figures and name == "medium":
            jobs.append(("eval_chars_per_s", "eval", [], os.path.join(HERE, "torch_eval_speed.py")))
        if "eval32" in figures and name == "medium":
            # Quill's float32 evaluation (exact mode) against the same PyTorch float32 forward.
            jobs.append(("eval_chars_per_s", "eval", [], os.path.join(HERE, "torch_eval_speed.py"), ["--precision", "float32"]))
        for key, mode, extra, torch_script, *quill_only in jobs:
            quill_extra = quill_only[0] if quill_only else []
            q, t = [], []
            for _ in range(args.rounds):
                out, rss = run([args.quill, "bench", mode, "--corpus", args.corpus] + sizes + extra + quill_extra, env)
                q.append(rss if key == "peak_rss_mb" else out[key])
                if have_torch:
                    script = torch_script or args.torch_baseline
                    tmode = [] if torch_script else [mode]
                    out, rss = run([sys.executable, script] + tmode + ["--corpus", args.corpus] + sizes + extra, env)
                    t.append(rss if key == "peak_rss_mb" else out[key])
            qm = statistics.median(q)
            tm = statistics.median(t) if t else float("nan")
            label = key + (" (" + " ".join(quill_extra) + ")" if quill_extra else "")
            rows.append((name, label, qm, tm, qm / tm if t else float("nan")))
            print(f"{name:7s} {label:36s} quill {qm:12.1f}  pytorch {tm:12.1f}  ratio {rows[-1][4]:6.2f}", flush=True)
    print(json.dumps([dict(config=r[0], figure=r[1], quill=r[2], pytorch=r[3], ratio=r[4]) for r in rows]))


if __name__ == "__main__":
    main()
