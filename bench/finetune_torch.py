#!/usr/bin/python3
"""PyTorch peer of `convkit bench resnet18 --train --batch 32`: torchvision's ResNet-18 at 224x224,
every layer trained (fine-tuning: forward, cross entropy, backward, SGD with momentum), random data,
eager mode. Prints one JSON line with the median step time.

  finetune_torch.py [--batch 32] [--steps 10] [--threads 2] [--classes 1000]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=1000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=a.classes)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(a.batch, 3, 224, 224)
    y = torch.arange(a.batch) % a.classes
    model.train()
    times = []
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= 2:
            times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    ms = times[len(times) // 2]
    print(json.dumps({"model": "resnet18", "batch": a.batch, "threads": torch.get_num_threads(),
                      "step_ms": round(ms, 1), "img_s": round(1000 * a.batch / ms, 1)}))


if __name__ == "__main__":
    main()
