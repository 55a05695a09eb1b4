#!/usr/bin/env python3
"""Writes Tests/QuillTests/Fixtures/adam_torch.json: PyTorch's Adam, AdamW and clip_grad_norm_ on fixed numbers.

The Swift tests replay the same initial weights and gradients through Quill's optimizer and
clipping and compare with these results. Run from the package root:

    python3 scripts/make_adam_fixture.py
"""
import json
import math
import os

import torch

COUNT = 22  # ParameterLayout of V 2, E 1, H 1, L 1
STEPS = 6


def values(seed, scale):
    """Deterministic, varied float32 numbers (no random generator involved)."""
    out = []
    for i in range(COUNT):
        x = math.sin(1.7 * i + 0.9 * seed) * scale * (1 + (i % 5))
        out.append(x)
    return torch.tensor(out, dtype=torch.float32)


def adam_case(name, optimizer_class, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    weights = values(0, 0.1)
    initial = weights.clone()
    param = torch.nn.Parameter(weights.clone())
    opt = optimizer_class([param], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    gradients, after = [], []
    for step in range(STEPS):
        g = values(step + 1, 0.05 * (step + 1))
        g[3] = 0.0  # a parameter whose gradient is zero at the first step
        if step == 2:
            g[7] = 1e-7  # a tiny gradient
        param.grad = g.clone()
        opt.step()
        gradients.append(g.tolist())
        after.append(param.detach().clone().tolist())
    return dict(name=name, learning_rate=lr, beta1=betas[0], beta2=betas[1], eps=eps,
                weight_decay=weight_decay, initial=initial.tolist(),
                gradients=gradients, weights_after_each_step=after)


def clip_case(name, scale, max_norm):
    g = values(11, scale)
    param = torch.nn.Parameter(torch.zeros(COUNT))
    param.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_([param], max_norm)
    return dict(name=name, max_norm=max_norm, gradients=g.tolist(),
                norm=float(norm), clipped=param.grad.tolist())


def main():
    torch.set_num_threads(1)
    fixture = dict(
        made_by="scripts/make_adam_fixture.py",
        torch_version=torch.__version__,
        count=COUNT,
        adam=[
            adam_case("adam_lr2e-3", torch.optim.Adam, 2e-3, 0.0),
            adam_case("adam_lr5e-2_betas0.8_0.99", torch.optim.Adam, 5e-2, 0.0, betas=(0.8, 0.99), eps=1e-6),
            adam_case("adamw_lr1e-2_wd0.1", torch.optim.AdamW, 1e-2, 0.1),
        ],
        clip=[
            clip_case("above", 1.0, 2.0),
            clip_case("below", 0.01, 5.0),
        ],
    )
    path = os.path.join("Tests", "QuillTests", "Fixtures", "adam_torch.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
