"""PyTorch timings for the shapes of bench/bench_norm.cpp (forward + backward, best of 10).

Run: OMP_NUM_THREADS=<n> /usr/bin/python3 bench/norm_torch.py
"""
import os
import time

import torch
import torch.nn.functional as F


def best_ms(fn, reps=10):
    fn()  # warm up
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x = torch.randn(32, 64, 56, 56, requires_grad=True)
    w = torch.ones(64, requires_grad=True)
    b = torch.zeros(64, requires_grad=True)
    rm, rv = torch.zeros(64), torch.ones(64)
    g = torch.randn_like(x)
    print("batch_norm train [32,64,56,56]: %.1f ms" % best_ms(
        lambda: F.batch_norm(x, rm, rv, w, b, training=True).backward(g)))
    xl = torch.randn(32, 96, 27, 27, requires_grad=True)
    gl = torch.randn_like(xl)
    print("local_response_norm AlexNet [32,96,27,27]: %.1f ms" % best_ms(
        lambda: F.local_response_norm(xl, 5, alpha=1e-4, beta=0.75, k=2.0).backward(gl)))


if __name__ == "__main__":
    main()
