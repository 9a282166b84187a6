#!/usr/bin/env python3
"""torchvision.ops.roi_align / roi_pool answers for tests/test_roi.cpp.

usage: detect_roi_oracle.py IN.json OUT.json

IN: a list of cases {x: flat [N*C*H*W], shape [N, C, H, W], rois: [[n, x1, y1, x2, y2], ...],
out [PH, PW], scale, sampling_ratio, aligned, upstream: flat [K*C*PH*PW]}. OUT per case: the
float64 outputs of roi_align and roi_pool, and the gradient of sum(output * upstream) w.r.t. x of
each (torchvision 0.14's CPU kernels).
"""
import json
import sys

import torch
from torchvision.ops import roi_align, roi_pool


def main():
    out = []
    for c in json.load(open(sys.argv[1])):
        rois = torch.tensor(c["rois"], dtype=torch.float64).reshape(-1, 5)
        size = tuple(c["out"])
        r = {}
        for name, fn in (
            ("align", lambda x: roi_align(x, rois, size, c["scale"], c["sampling_ratio"],
                                          c["aligned"])),
            ("pool", lambda x: roi_pool(x, rois, size, c["scale"])),
        ):
            x = torch.tensor(c["x"], dtype=torch.float64).reshape(c["shape"]).requires_grad_()
            y = fn(x)
            up = torch.tensor(c["upstream"], dtype=torch.float64).reshape(y.shape)
            (y * up).sum().backward()
            r[name] = y.detach().flatten().tolist()
            r[name + "_grad"] = x.grad.flatten().tolist()
        out.append(r)
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
