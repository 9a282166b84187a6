"""PyTorch timings of the conv phases that bench/bench_conv.cpp measures (same shapes, batch 128).

  /usr/bin/python3 bench/conv_torch.py [--threads 2] [--repeats 15] [--json out.json]

Phases (mirroring bench_conv.cpp):
  fwd:         y = F.conv2d(x, w, b, padding=1) with x, w, b requiring grad
  bwd_data:    torch.autograd.grad(y, [x], gy) with only x requiring grad (forward not timed)
  bwd_weights: torch.autograd.grad(y, [w, b], gy) with only w, b requiring grad (forward not timed)
  fwd_bwd:     forward, then torch.autograd.grad(y, [x, w, b], gy)
Each phase: warm-up, then --repeats timed calls; prints their median in milliseconds; --json
writes every call's time.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

LAYERS = [  # name, N, IC, OC, HW (3x3, pad 1, stride 1)
    ("3to16_32x32", 128, 3, 16, 32),
    ("16to16_32x32", 128, 16, 16, 32),
    ("32to32_16x16", 128, 32, 32, 16),
    ("64to64_8x8", 128, 64, 64, 8),
]
PHASES = ["fwd", "bwd_data", "bwd_weights", "fwd_bwd"]


def time_phase(layer, phase, repeats, warmup=3):
    _, n, ic, oc, hw = layer
    gen = torch.Generator().manual_seed(1)
    grad_x = phase != "bwd_weights"
    grad_w = phase != "bwd_data"
    x = torch.randn(n, ic, hw, hw, generator=gen).requires_grad_(grad_x)
    w = (0.1 * torch.randn(oc, ic, 3, 3, generator=gen)).requires_grad_(grad_w)
    b = torch.zeros(oc).requires_grad_(grad_w)
    gy = torch.randn(n, oc, hw, hw, generator=gen)
    wrt = ([x] if grad_x else []) + ([w, b] if grad_w else [])
    samples = []
    for i in range(warmup + repeats):
        if phase == "fwd":
            t0 = time.perf_counter()
            y = F.conv2d(x, w, b, padding=1)
            t1 = time.perf_counter()
        elif phase == "fwd_bwd":
            t0 = time.perf_counter()
            y = F.conv2d(x, w, b, padding=1)
            torch.autograd.grad(y, wrt, gy)
            t1 = time.perf_counter()
        else:
            y = F.conv2d(x, w, b, padding=1)
            t0 = time.perf_counter()
            torch.autograd.grad(y, wrt, gy)
            t1 = time.perf_counter()
        del y
        if i >= warmup:
            samples.append((t1 - t0) * 1e3)
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json", help="also write {layer: {phase: [ms per call]}} here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    print("torch %s, %d threads, %s" % (torch.__version__, torch.get_num_threads(),
                                        "mkldnn" if torch.backends.mkldnn.is_available() else "no mkldnn"))
    for layer in LAYERS:
        results[layer[0]] = {}
        for phase in PHASES:
            samples = time_phase(layer, phase, args.repeats)
            results[layer[0]][phase] = samples
            print("%-14s %-12s %8.2f ms (median), %8.2f ms (min)"
                  % (layer[0], phase, statistics.median(samples), min(samples)), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
