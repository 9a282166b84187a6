"""Golden files for conv2d: /usr/bin/python3 tests/golden/gen_conv.py

Each case stores inputs x, w, b (when present), the upstream gradient gy, and PyTorch's y, dx, dw,
db. Inputs are rounded to float32 first and the reference is computed in float64 from those
rounded values, then stored as float32. The conv parameters are stored in the metadata
(stride, padding, dilation as "h,w"; groups; mode explicit|same|valid) and read back by the test.
"same" follows TensorFlow (output ceil(n/s), odd pad pixel at the bottom/right), which PyTorch
allows only for stride 1, so it is built here as an explicit asymmetric F.pad plus a valid conv.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 20240611

CASES = [
    # name, x shape, w shape, bias, stride, padding, dilation, groups, mode
    ("conv_basic", (2, 3, 7, 6), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, "explicit"),
    ("conv_strided_dilated_groups", (2, 4, 9, 8), (6, 2, 3, 2), True, (2, 1), (1, 2), (2, 1), 2,
     "explicit"),
    ("conv_depthwise", (1, 4, 6, 6), (4, 1, 3, 3), False, (2, 2), (1, 1), (1, 1), 4, "explicit"),
    ("conv_same_stride2", (2, 3, 8, 7), (5, 3, 3, 3), True, (2, 2), (0, 0), (1, 1), 1, "same"),
    ("conv_valid_1x1", (2, 5, 5, 5), (3, 5, 1, 1), True, (2, 2), (0, 0), (1, 1), 1, "valid"),
]


def same_pads(n, k, s, d):
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def run_case(gen, name, xs, ws, has_bias, stride, padding, dilation, groups, mode):
    def rnd(shape):
        return torch.randn(shape, generator=gen).float().double().requires_grad_(True)

    x, w = rnd(xs), rnd(ws)
    b = rnd((ws[0],)) if has_bias else None
    xin, pad = x, padding
    if mode == "same":
        top, bottom = same_pads(xs[2], ws[2], stride[0], dilation[0])
        left, right = same_pads(xs[3], ws[3], stride[1], dilation[1])
        xin, pad = F.pad(x, (left, right, top, bottom)), (0, 0)
    elif mode == "valid":
        pad = (0, 0)
    y = F.conv2d(xin, w, b, stride=stride, padding=pad, dilation=dilation, groups=groups)
    gy = torch.randn(y.shape, generator=gen).float().double()
    y.backward(gy)
    tensors = {"x": x, "w": w, "gy": gy, "y": y, "dx": x.grad, "dw": w.grad}
    if has_bias:
        tensors.update({"b": b, "db": b.grad})
    tensors = {k: v.detach().float() for k, v in tensors.items()}
    golden.save(name, tensors, SEED, stride="%d,%d" % stride, padding="%d,%d" % padding,
                dilation="%d,%d" % dilation, groups=groups, mode=mode)


def main():
    gen = torch.Generator().manual_seed(SEED)
    for case in CASES:
        run_case(gen, *case)


if __name__ == "__main__":
    main()
