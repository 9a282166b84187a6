"""PyTorch peer of bench/bench_infer.cpp: the torchvision model of the same name (weights=None,
1000 classes), eval mode, random input; the median of REPS timed forward passes after warm-up
passes, in two settings: eager under torch.no_grad, and frozen TorchScript
(torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model))): batch norm folded,
conv + ReLU fused, planned ahead). Prints one JSON line: ms_per_image for each, and the best."""
import argparse
import json
import time

import warnings

import torch
import torchvision


def median_ms(f, x, reps, warmup):
    ms = []
    with torch.no_grad():
        for _ in range(warmup):
            f(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            f(x)
            ms.append(1000 * (time.perf_counter() - t0))
    return sorted(ms)[reps // 2]


def main():
    warnings.filterwarnings("ignore", message="Scripted GoogleNet")
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    kw = {"aux_logits": False, "init_weights": True} if a.model == "googlenet" else {}
    model = getattr(torchvision.models, a.model)(weights=None, **kw).eval()
    x = torch.randn(a.batch, 3, a.size, a.size)
    eager = median_ms(model, x, a.reps, 2)
    with torch.no_grad():
        frozen_model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
    # TorchScript's profiling executor specializes over the first calls: more warm-up.
    frozen = median_ms(frozen_model, x, a.reps, 4)
    print(json.dumps({"model": a.model, "threads": torch.get_num_threads(), "batch": a.batch,
                      "size": a.size, "eager_ms_per_image": round(eager / a.batch, 3),
                      "frozen_ms_per_image": round(frozen / a.batch, 3),
                      "ms_per_image": round(min(eager, frozen) / a.batch, 3),
                      "best": "eager" if eager <= frozen else "frozen"}))


if __name__ == "__main__":
    main()
