"""PyTorch peer of bench/bench_train.cpp: the same architectures (LeNet-5 modern with batch norm, CIFAR ResNet-20
with 1x1 projection shortcuts), SGD momentum, random data, batch 128. Prints one JSON line."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5_modern(c, classes):
    return nn.Sequential(nn.Conv2d(c, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 120, 5), nn.BatchNorm2d(120), nn.ReLU(), nn.Flatten(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class CifarResNet(nn.Module):
    def __init__(self, depth, c, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(c, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(cin, cout, stride if b == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(h.mean((2, 3)))


def build(name, c, classes):
    if name == "lenet5-modern":
        return lenet5_modern(c, classes)
    if name.startswith("resnet"):
        return CifarResNet(int(name[6:]), c, classes)
    raise SystemExit("unknown model " + name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.model, a.channels, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    y = torch.arange(a.batch) % 10

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    train_ips = a.steps * a.batch / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        for _ in range(2):
            model(x)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            model(x)
        infer_ips = a.steps * a.batch / (time.perf_counter() - t0)
        one = x[:1].clone()
        for _ in range(5):
            model(one)
        t0 = time.perf_counter()
        for _ in range(50):
            model(one)
        latency = 1000 * (time.perf_counter() - t0) / 50
    print(json.dumps({"model": a.model, "threads": torch.get_num_threads(), "batch": a.batch,
                      "train_img_s": round(train_ips, 1), "infer_img_s": round(infer_ips, 1),
                      "latency_ms": round(latency, 3)}))


if __name__ == "__main__":
    main()
