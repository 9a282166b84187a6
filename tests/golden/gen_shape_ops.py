"""Golden files for pad2d and upsample_nearest2d: /usr/bin/python3 tests/golden/gen_shape_ops.py

Each case stores x, r (upstream gradient), y = op(x) and dx = d(sum(y*r))/dx (computed in float64
from the float32 inputs, stored as float32), plus `params` (int64) read by the C++ test:
  pad_<mode>.*: [left, right, top, bottom, mode]  mode 0 zeros, 1 reflect, 2 replicate
  upsample.*:   [scale_h, scale_w]
"""
import torch
import torch.nn.functional as F

import golden

SEED = 20240602
MODES = {"constant": 0, "reflect": 1, "replicate": 2}
PAD_CASES = [  # (mode, shape, (left, right, top, bottom))
    ("constant", (2, 3, 4, 5), (1, 2, 3, 0)),
    ("reflect", (2, 3, 4, 5), (2, 4, 3, 1)),
    ("reflect", (1, 2, 6, 3), (1, 1, 1, 1)),
    ("replicate", (2, 3, 4, 5), (3, 1, 0, 4)),
]
UPSAMPLE_CASES = [((2, 3, 3, 4), (2, 2)), ((1, 2, 4, 3), (3, 2))]


def run(fn, shape, gen):
    x32 = torch.randn(shape, generator=gen, dtype=torch.float32)
    x = x32.double().requires_grad_(True)
    y = fn(x)
    r32 = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    (y * r32.double()).sum().backward()
    return {"x": x32, "r": r32, "y": y.detach().float(), "dx": x.grad.float()}


def main():
    gen = torch.Generator().manual_seed(SEED)
    out = {}

    def add(name, tensors, params):
        for k, v in tensors.items():
            out[name + "." + k] = v
        out[name + ".params"] = torch.tensor(params, dtype=torch.int64)

    for i, (mode, shape, pads) in enumerate(PAD_CASES):
        add("pad%d" % i, run(lambda x: F.pad(x, pads, mode=mode), shape, gen),
            list(pads) + [MODES[mode]])
    for i, (shape, scale) in enumerate(UPSAMPLE_CASES):
        add("upsample%d" % i,
            run(lambda x: F.interpolate(x, scale_factor=scale, mode="nearest"), shape, gen),
            list(scale))
    golden.save("shape_ops_resample", out, SEED)


if __name__ == "__main__":
    main()
