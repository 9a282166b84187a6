"""PyTorch side of bench/gradcam_compare.sh: Grad-CAM latency of a torchvision model (eval mode,
random weights and input) for the top-1 class at `layer`, in the two usual ways:
  full:   parameters require grad, loss.backward() (weight gradients computed too);
  frozen: parameters frozen, torch.autograd.grad w.r.t. the hooked feature map only (what convkit
          does by default).
Prints one JSON line {"model", "threads", "size", "full_ms", "frozen_ms"} (medians of --reps).
"""
import argparse
import json
import time

import torch
import torchvision


def gradcam(model, layer, x, frozen):
    kept = {}
    # Frozen: nothing before the layer requires grad, so its output starts the graph (as convkit's
    # hook does); without this, autograd.grad has no path from the score to it.
    h = layer.register_forward_hook(
        lambda m, i, o: kept.__setitem__("a", o.requires_grad_() if frozen else o))
    y = model(x)
    h.remove()
    a = kept["a"]
    score = y[0, y[0].argmax()]
    if frozen:
        g = torch.autograd.grad(score, a)[0]
    else:
        a.retain_grad()
        model.zero_grad(set_to_none=True)
        score.backward()
        g = a.grad
    return torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1)).detach()


def median_ms(fn, reps):
    for _ in range(2):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return sorted(ts)[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--layer", default="layer4")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None).eval()
    layer = dict(model.named_modules())[args.layer]
    x = torch.randn(1, 3, args.size, args.size)
    full = median_ms(lambda: gradcam(model, layer, x, False), args.reps)
    for p in model.parameters():
        p.requires_grad_(False)
    frozen = median_ms(lambda: gradcam(model, layer, x, True), args.reps)
    print(json.dumps({"model": args.model, "threads": args.threads, "size": args.size,
                      "full_ms": full, "frozen_ms": frozen}))


if __name__ == "__main__":
    main()
