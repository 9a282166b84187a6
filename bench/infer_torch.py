"""PyTorch peer of bench/bench_infer.cpp: the torchvision model of the same name (weights=None,
1000 classes), eval mode under torch.no_grad, random input; the median of REPS timed forward passes
after two warm-up passes. Prints one JSON line with the same keys."""
import argparse
import json
import statistics
import time

import torch
import torchvision


def main():
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
    ms = []
    with torch.no_grad():
        for _ in range(2):
            model(x)
        for _ in range(a.reps):
            t0 = time.perf_counter()
            model(x)
            ms.append(1000 * (time.perf_counter() - t0))
    median = sorted(ms)[a.reps // 2]
    print(json.dumps({"model": a.model, "threads": torch.get_num_threads(), "batch": a.batch,
                      "size": a.size, "ms_per_batch": round(median, 3),
                      "ms_per_image": round(median / a.batch, 3)}))


if __name__ == "__main__":
    main()
