"""Golden file for upsample_bilinear2d: /usr/bin/python3 tests/golden/gen_upsample_bilinear.py

Each case stores x, r (upstream gradient), y = F.interpolate(x, size, mode="bilinear",
align_corners) and dx = d(sum(y*r))/dx (computed in float64 from the float32 inputs, stored as
float32), plus `params` (int64) read by the C++ test: [out_h, out_w, align_corners].
"""
import torch
import torch.nn.functional as F

import golden

SEED = 20261206
CASES = [  # (shape, (out_h, out_w)): up by integers, up and down by other ratios, to 1x1
    ((2, 3, 3, 4), (6, 8)),
    ((1, 2, 3, 4), (7, 5)),
    ((2, 2, 8, 6), (3, 4)),
    ((1, 3, 5, 4), (1, 1)),
    ((3, 4, 5), (9, 2)),
]


def main():
    gen = torch.Generator().manual_seed(SEED)
    out = {}
    i = 0
    for shape, size in CASES:
        for align_corners in (False, True):
            x32 = torch.randn(shape, generator=gen, dtype=torch.float32)
            x = x32.double().requires_grad_(True)
            # interpolate wants [N, C, H, W]; a 3-D case runs as one batch of planes.
            x4 = x if x.dim() == 4 else x.unsqueeze(0)
            y = F.interpolate(x4, size=size, mode="bilinear", align_corners=align_corners)
            y = y if x.dim() == 4 else y.squeeze(0)
            r32 = torch.randn(y.shape, generator=gen, dtype=torch.float32)
            (y * r32.double()).sum().backward()
            name = "case%d" % i
            out[name + ".x"] = x32
            out[name + ".r"] = r32
            out[name + ".y"] = y.detach().float()
            out[name + ".dx"] = x.grad.float()
            out[name + ".params"] = torch.tensor([size[0], size[1], int(align_corners)])
            i += 1
    golden.save("upsample_bilinear", out, SEED, cases=i)


if __name__ == "__main__":
    main()
