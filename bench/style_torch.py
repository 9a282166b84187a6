"""PyTorch side of bench/style_compare.sh: seconds per iteration of Gatys et al. style transfer with
the same problem as `convkit style` (style/transfer.h): VGG-19 features up to relu5_1, content at
relu4_2, style at relu1_1..relu5_1 (0.2 each, Gram / (C H W)), TV, L-BFGS one evaluation per
iteration (max_iter=1, history 100, tolerances 0), content init, square centre crop.

  python3 bench/style_torch.py --content A.png --style B.png --size 256 --iters 20 [--threads 2]
        [--weights vgg19.safetensors]

Prints "torch <size> <seconds per iteration>"; the clock runs over every iteration (the first
included), after the targets are computed, as convkit's does.
"""
import argparse
import json
import struct
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torchvision

CONTENT, STYLE = 22, [1, 6, 11, 20, 29]


def square(path, size):
    bgr = cv2.imread(path)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    scale = size / min(rgb.shape[:2])
    w = max(size, round(rgb.shape[1] * scale))
    h = max(size, round(rgb.shape[0] * scale))
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y0, x0 = (h - size) // 2, (w - size) // 2
    rgb = rgb[y0:y0 + size, x0:x0 + size]
    return (torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255).contiguous()


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).copy()).reshape(v["shape"])
    return out


def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def tv(x):
    dh = x[:, :, 1:, :] - x[:, :, :-1, :]
    dw = x[:, :, :, 1:] - x[:, :, :, :-1]
    return (dh * dh).mean() + (dw * dw).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--content", required=True)
    ap.add_argument("--style", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    vgg = torchvision.models.vgg19().features[:30].eval()
    if a.weights:
        vgg.load_state_dict({k[len("features."):]: v for k, v in load_safetensors(a.weights).items()
                             if int(k.split(".")[1]) < 30})
    for p in vgg.parameters():
        p.requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def features(x):
        out, h = {}, (x - mean) / std
        for i, layer in enumerate(vgg):
            h = layer(h)
            out[i] = h
        return out

    content = square(a.content, a.size)
    style = square(a.style, a.size)
    with torch.no_grad():
        target = features(content)[CONTENT]
        grams = [gram(features(style)[i]) for i in STYLE]
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=1, history_size=100, tolerance_grad=0,
                            tolerance_change=0)

    def closure():
        opt.zero_grad()
        f = features(x)
        loss = F.mse_loss(f[CONTENT], target)
        loss = loss + sum(1e6 * 0.2 * ((gram(f[i]) - g) ** 2).mean() for i, g in zip(STYLE, grams))
        loss = loss + 1e-2 * tv(x)
        loss.backward()
        return loss

    start = time.perf_counter()
    for _ in range(a.iters):
        opt.step(closure)
    print(f"torch {a.size} {(time.perf_counter() - start) / a.iters:.3f}")


if __name__ == "__main__":
    main()
