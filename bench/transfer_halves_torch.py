#!/usr/bin/python3
"""PyTorch peer of `convkit transfer` on the Fashion-MNIST halves (bench/transfer_halves.sh,
docs/transfer.md): the same base file (convkit checkpoints use torchvision names, so PyTorch
loads them as they are), the same image folders and the same recipe, stage by stage:

  head     the base frozen (BN in eval mode), a new Linear on the cut layer's pooled features
  joint    the top N blocks unfrozen (their BN in train mode) at lr * base_lr_mult, head at lr
  scratch  the whole ResNet-20 (whatever the cut) from random weights, every parameter at lr,
           head + joint epochs

each stage a fresh SGD (momentum 0.9, weight decay on weights of rank >= 2 only), cosine decay
to 0 per step over the stage, batch size B with the last short batch kept.

  transfer_halves_torch.py WORK [--seeds 1 2 3] [--ks 20 5] [--transfer-seeds 1 2 3]
                           [--head-epochs 30] [--epochs 30]
                           [--lr 0.1] [--batch-size 16] [--unfreeze 2] [--cut layer2]
                           [--eval-on test|val]

WORK holds s<seed>/base/best.safetensors, s<seed>/target_<k>/ and s<seed>/test/ as
bench/transfer_halves.sh leaves them. Prints one line per run and the means.
"""
import argparse
import glob
import json
import math
import os
import struct

import cv2
import numpy as np
import torch
import torch.nn as nn

from train_torch import CifarResNet

BLOCKS = ["conv1", "bn1", "layer1", "layer2", "layer3"]  # bottom to top, as convkit lists them
WIDTH = {"layer1": 16, "layer2": 32, "layer3": 64}


def read_config(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))["__metadata__"]
    return json.loads(meta["config"])


def load_folder(folder, names, mean, std):
    xs, ys = [], []
    for c, name in enumerate(names):
        for p in sorted(glob.glob(os.path.join(folder, name, "*.png"))):
            xs.append(cv2.imread(p, cv2.IMREAD_GRAYSCALE))
            ys.append(c)
    x = torch.from_numpy(np.stack(xs)).float().div(255).sub(mean).div(std).unsqueeze(1)
    return x, torch.tensor(ys)


def features(net, x, cut):
    """The cut layer's feature map averaged over its positions (convkit's --features pool)."""
    h = torch.relu(net.bn1(net.conv1(x)))
    for name in ("layer1", "layer2", "layer3"):
        h = getattr(net, name)(h)
        if name == cut:
            return h.mean((2, 3))
    raise SystemExit("unknown cut " + cut)


class Transfer(nn.Module):
    def __init__(self, base, classes, cut):
        super().__init__()
        self.base, self.cut, self.head = base, cut, nn.Linear(WIDTH[cut], classes)

    def forward(self, x):
        return self.head(features(self.base, x, self.cut))


def blocks(cut):
    return BLOCKS[:BLOCKS.index(cut) + 1]


def set_modes(model, trainable_blocks):
    """Frozen blocks stay in eval mode (their BN uses the running statistics), as in convkit."""
    model.train()
    for b in blocks(model.cut):
        getattr(model.base, b).train(b in trainable_blocks)


def run_stage(model, groups, x, y, epochs, batch, lr, seed, trainable_blocks):
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.SGD([
        {"params": [p for p in g["params"] if p.dim() >= 2], "lr": lr * g["mult"],
         "weight_decay": 5e-4} for g in groups] + [
        {"params": [p for p in g["params"] if p.dim() < 2], "lr": lr * g["mult"],
         "weight_decay": 0.0} for g in groups], lr=lr, momentum=0.9)
    base_lrs = [g["lr"] for g in opt.param_groups]
    steps_per_epoch = math.ceil(len(x) / batch)
    total, t = epochs * steps_per_epoch, 0
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        set_modes(model, trainable_blocks)
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            for g, b in zip(opt.param_groups, base_lrs):
                g["lr"] = 0.5 * b * (1 + math.cos(math.pi * t / total))
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            t += 1
    del params


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).float().mean().item()


def read_safetensors(path):
    dtypes = {"F32": np.float32, "I64": np.int64, "F64": np.float64, "I32": np.int32}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        b, e = v["data_offsets"]
        arr = np.frombuffer(blob[b:e], dtypes[v["dtype"]]).reshape(v["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def run(work, seed, k, a, tseed):
    base_path = os.path.join(work, "s%d" % seed, "base", "best.safetensors")
    cfg = read_config(base_path)
    mean, std = cfg["normalization"]["mean"][0], cfg["normalization"]["std"][0]
    target = os.path.join(work, "s%d" % seed, "target_%d" % k)
    names = sorted(os.listdir(target))
    x, y = load_folder(target, names, mean, std)
    tx, ty = load_folder(os.path.join(work, "s%d" % seed, a.eval_on), names, mean, std)
    torch.manual_seed(tseed)

    base = CifarResNet(20, 1, cfg["num_classes"])
    state = read_safetensors(base_path)
    state = {n: (t.reshape(()) if n.endswith("num_batches_tracked") else t) for n, t in state.items()}
    base.load_state_dict(state)
    base.fc = nn.Identity()
    model = Transfer(base, len(names), a.cut)
    for p in model.base.parameters():
        p.requires_grad_(False)
    run_stage(model, [{"params": list(model.head.parameters()), "mult": 1.0}], x, y,
              a.head_epochs, a.batch_size, a.lr, tseed, trainable_blocks=[])
    head = accuracy(model, tx, ty)

    top = blocks(a.cut)[::-1][:a.unfreeze]
    groups = [{"params": list(model.head.parameters()), "mult": 1.0}]
    for b in top:
        ps = list(getattr(model.base, b).parameters())
        for p in ps:
            p.requires_grad_(True)
        groups.append({"params": ps, "mult": 0.1})
    run_stage(model, groups, x, y, a.epochs, a.batch_size, a.lr, tseed, trainable_blocks=top)
    joint = accuracy(model, tx, ty)

    fresh = CifarResNet(20, 1, cfg["num_classes"])
    fresh.fc = nn.Identity()
    scratch_model = Transfer(fresh, len(names), "layer3")  # the whole network, whatever the cut
    run_stage(scratch_model, [{"params": list(scratch_model.parameters()), "mult": 1.0}], x, y,
              a.head_epochs + a.epochs, a.batch_size, a.lr, tseed, trainable_blocks=BLOCKS)
    scratch = accuracy(scratch_model, tx, ty)
    return head, joint, scratch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--ks", type=int, nargs="+", default=[20, 5])
    p.add_argument("--transfer-seeds", type=int, nargs="+", default=None,
                   help="head init and shuffling per base (default: the base's seed)")
    p.add_argument("--head-epochs", type=int, default=30)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--unfreeze", type=int, default=2)
    p.add_argument("--cut", default="layer3", choices=["layer1", "layer2", "layer3"])
    p.add_argument("--eval-on", default="test")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    for k in a.ks:
        rows = []
        for s in a.seeds:
            for t in a.transfer_seeds or [s]:
                r = run(a.work, s, k, a, t)
                rows.append(r)
                print("seed %d, %d/class, transfer seed %d: frozen + head %.2f%%, fine-tuned %.2f%%, "
                      "scratch %.2f%%" % (s, k, t, *[100 * v for v in r]), flush=True)
        m = np.mean(rows, axis=0) * 100
        print("mean %d/class (%d runs): scratch / frozen / fine-tuned %.2f / %.2f / %.2f"
              % (k, len(rows), m[2], m[0], m[1]), flush=True)


if __name__ == "__main__":
    main()
