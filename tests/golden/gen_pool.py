"""Golden files for pooling: /usr/bin/python3 tests/golden/gen_pool.py

For each case: x (float32 input), r (float32 upstream gradient), y = pool(x), dx = d(sum(y*r))/dx,
computed by PyTorch in float64 from the float32 inputs and stored as float32, plus `params` (int64)
so the C++ test reads the geometry from the file instead of repeating it:
  max/avg:  [kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, ceil_mode, count_include_pad]
  adaptive: [out_h, out_w]   (a case named global.* calls global_avg_pool2d)
"""
import torch
import torch.nn.functional as F

import golden

SEED = 20240601

# (name, input shape, kernel, stride, padding, ceil_mode, count_include_pad)
WINDOW_CASES = [
    ("k2s2", (2, 3, 6, 7), (2, 2), (2, 2), (0, 0), False, True),
    ("k3s2_overlap", (1, 3, 9, 9), (3, 3), (2, 2), (0, 0), False, True),
    ("k3s2p1", (2, 2, 8, 7), (3, 3), (2, 2), (1, 1), False, True),
    ("k3s2p1_ceil", (2, 2, 8, 6), (3, 3), (2, 2), (1, 1), True, True),
    ("k2s2_ceil", (1, 2, 5, 7), (2, 2), (2, 2), (0, 0), True, True),
    ("k2s2p1_ceil", (1, 2, 5, 5), (2, 2), (2, 2), (1, 1), True, True),
    ("k3s2_ceil_overhang", (1, 2, 8, 8), (3, 3), (2, 2), (0, 0), True, True),
    ("k2x3s1x2p1", (2, 1, 7, 6), (2, 3), (1, 2), (1, 1), False, True),
]

ADAPTIVE_CASES = [
    ("adaptive_7x5_to_3x2", (2, 3, 7, 5), (3, 2)),
    ("adaptive_5x5_to_2x2", (1, 2, 5, 5), (2, 2)),
    ("adaptive_6x4_to_3x2", (1, 2, 6, 4), (3, 2)),
    ("adaptive_3x3_to_5x4", (1, 2, 3, 3), (5, 4)),
    ("global_5x4", (2, 3, 5, 4), (1, 1)),
]


def run(fn, shape, gen):
    x32 = torch.randn(shape, generator=gen, dtype=torch.float32)
    x = x32.double().requires_grad_(True)
    y = fn(x)
    r32 = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    (y * r32.double()).sum().backward()
    return {"x": x32, "r": r32, "y": y.detach().float(), "dx": x.grad.float()}


def add(out, name, tensors, params):
    for k, v in tensors.items():
        out[name + "." + k] = v
    out[name + ".params"] = torch.tensor(params, dtype=torch.int64)


def main():
    gen = torch.Generator().manual_seed(SEED)
    for kind in ("max", "avg"):
        out = {}
        for name, shape, k, s, p, ceil, _ in WINDOW_CASES:
            includes = (True,) if kind == "max" else (True, False)
            for include in includes:
                if kind == "max":
                    fn = lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil)
                else:
                    fn = lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include)
                case = name if kind == "max" else name + ("_incl" if include else "_excl")
                add(out, case, run(fn, shape, gen),
                    [k[0], k[1], s[0], s[1], p[0], p[1], int(ceil), int(include)])
        golden.save("pool_" + kind, out, SEED)
    out = {}
    for name, shape, size in ADAPTIVE_CASES:
        add(out, name, run(lambda x: F.adaptive_avg_pool2d(x, size), shape, gen), list(size))
    golden.save("pool_adaptive", out, SEED)


if __name__ == "__main__":
    main()
