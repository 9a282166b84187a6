#!/usr/bin/python3
"""Which features of a plain classifier verify unseen classes? (docs/similarity.md, issue 21)

A PyTorch ResNet-20 trained as a softmax classifier on Fashion-MNIST classes 0-6 (SGD, cosine,
horizontal flips, EPOCHS epochs); then, on the test images of classes 7-9 (never seen), 6000
balanced pairs' ROC AUC and 3-way one-shot accuracy (1000 episodes) for pooled features of each
stage, raw pixels, each L2-normalised plainly, after standardising with the *seen* training
images' statistics (std+l2), or after subtracting their mean normalised feature (ctr+l2).

  embed_unseen_torch.py [EPOCHS=3] [--transductive]

--transductive takes the statistics from the unseen test images themselves instead: it reads the
test set, so it is not a valid protocol; it shows how much the standardisation alone can do.
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import CifarResNet
torch.manual_seed(1); torch.set_num_threads(2)
S = '/usr/share/datasets/fashion-mnist/'
def idx(n, o): return np.frombuffer(gzip.open(S + n).read(), np.uint8, offset=o)
trx = idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28); tr_y = idx('train-labels-idx1-ubyte.gz', 8)
tex = idx('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28); te_y = idx('t10k-labels-idx1-ubyte.gz', 8)
m = tr_y < 7
X = torch.tensor(trx[m]).float().div(255); Y = torch.tensor(tr_y[m]).long()
mu, sd = X.mean().item(), X.std().item()
X = (X - mu) / sd
T = (torch.tensor(tex).float().div(255) - mu) / sd
net = CifarResNet(20, 1, 7)
args = [a for a in sys.argv[1:] if a != '--transductive']
epochs = int(args[0]) if args else 3
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
steps = epochs * (len(X) // 128); t = 0; t0 = time.time()
for e in range(epochs):
    net.train(); perm = torch.randperm(len(X))
    for i in range(0, len(X) - 127, 128):
        for g in opt.param_groups: g['lr'] = 0.05 * (1 + np.cos(np.pi * t / steps))
        b = perm[i:i + 128]
        xb = X[b]
        if True:  # flip augmentation
            f = torch.rand(len(b)) < 0.5; xb = torch.where(f[:, None, None, None], xb.flip(3), xb)
        loss = F.cross_entropy(net(xb), Y[b]); opt.zero_grad(); loss.backward(); opt.step(); t += 1
    print('epoch', e, 'loss %.3f' % loss.item(), '%.0fs' % (time.time() - t0), flush=True)
net.eval()
def feats(x):
    out = {}
    with torch.no_grad():
        h = F.relu(net.bn1(net.conv1(x)))
        l1 = net.layer1(h); l2 = net.layer2(l1); l3 = net.layer3(l2)
        for n, v in (('l1', l1), ('l2', l2), ('l3', l3)):
            out[n + 'avg'] = v.mean((2, 3)); out[n + 'max'] = v.amax((2, 3))
        out['l2+l3'] = torch.cat([F.normalize(out['l2avg'], dim=1), F.normalize(out['l3avg'], dim=1)], 1)
        out['l1+l2+l3'] = torch.cat([F.normalize(out['l1avg'], dim=1), out['l2+l3']], 1)
        out['l2map'] = F.adaptive_avg_pool2d(l2, 2).flatten(1)
        out['l3map'] = F.adaptive_avg_pool2d(l3, 2).flatten(1)
        out['pixels'] = x.flatten(1)
    return out
un = np.flatnonzero(te_y >= 7)
def all_feats(x):
    parts = [feats(x[i:i + 1000]) for i in range(0, len(x), 1000)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


FU = all_feats(T[un])
yu = te_y[un]
FS = all_feats(X[torch.randperm(len(X))[:10000]])  # the seen classes' statistics
if '--transductive' in sys.argv:
    FS = FU

rng = np.random.default_rng(0)
def pairs(y, n):
    a = rng.integers(0, len(y), 4 * n); b = rng.integers(0, len(y), 4 * n)
    same = (y[a] == y[b]) & (a != b); diff = y[a] != y[b]
    return np.concatenate([a[same][:n // 2], a[diff][:n // 2]]), np.concatenate([b[same][:n // 2], b[diff][:n // 2]]), np.r_[np.ones(n // 2), np.zeros(n // 2)]
pa, pb, lab = pairs(yu, 6000)
def auc(score, lab):
    o = np.argsort(score); r = np.empty(len(o)); r[o] = np.arange(1, len(o) + 1)
    npos = lab.sum(); nneg = len(lab) - npos
    return (r[lab == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)
for k, v in FU.items():
    for norm in ('l2', 'std+l2', 'ctr+l2'):
        z = v
        if norm == 'std+l2': z = (z - FS[k].mean(0)) / (FS[k].std(0) + 1e-6)
        if norm == 'ctr+l2': z = F.normalize(z, dim=1) - F.normalize(FS[k], dim=1).mean(0)
        z = F.normalize(z, dim=1).numpy()
        d = ((z[pa] - z[pb]) ** 2).sum(1)
        # 3-way one-shot
        acc = 0; E = 1000
        for e in range(E):
            idxs = [rng.choice(np.flatnonzero(yu == c), 2, replace=False) for c in (7, 8, 9)]
            sup = z[[i[0] for i in idxs]]; c = rng.integers(0, 3); q = z[idxs[c][1]]
            acc += int(np.argmin(((sup - q) ** 2).sum(1)) == c)
        print('%-10s %-7s unseen AUC %.3f  3-way %.1f%%' % (k, norm, auc(-d, lab), 100 * acc / E), flush=True)
