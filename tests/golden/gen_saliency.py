"""Saliency reference for tests/test_saliency.cpp, written at test time.

A small net (conv-relu-pool-conv-relu-GAP-linear, PyTorch's default init, seeded) and inputs x;
the vanilla gradient dy_c/dx and guided backprop's (backward hooks on the nn.ReLU modules clamp
the gradient they pass on at 0, Springenberg et al. 2015), class c per image, in float32.
State dict under "state.<name>" (Sequential indices, as convkit's nn::Sequential names them).

Usage: /usr/bin/python3 tests/golden/gen_saliency.py --out DIR small
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 20261220
CLASSES = [1, 2]


def net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(6, 3))


def input_grad(model, x, guided):
    handles = []
    if guided:
        for m in model.modules():
            if isinstance(m, nn.ReLU):
                handles.append(m.register_full_backward_hook(
                    lambda mod, gin, gout: (gin[0].clamp(min=0),)))
    x = x.clone().requires_grad_(True)
    y = model(x)
    (g,) = torch.autograd.grad(y[torch.arange(len(CLASSES)), CLASSES].sum(), x)
    for h in handles:
        h.remove()
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("case", choices=["small"])
    args = ap.parse_args()
    torch.manual_seed(SEED)
    model = net().eval()
    x = torch.randn(len(CLASSES), 3, 10, 10)
    out = {"input": x, "gradient": input_grad(model, x, False),
           "guided": input_grad(model, x, True)}
    for k, v in model.state_dict().items():
        out["state." + k] = v
    golden.DATA_DIR = args.out
    golden.save("saliency_" + args.case, out, SEED, classes=",".join(map(str, CLASSES)))


if __name__ == "__main__":
    main()
