#!/usr/bin/python3
"""Training recipes for an embedding that generalises to UNSEEN classes (issue 21, docs/similarity.md).

Protocol (the same as scripts/embed_unseen.sh / bench/embed_unseen_torch.py):
  * train on the Fashion-MNIST TRAINING images of classes 0-6 only, less a seeded 10% validation split;
    no image of classes 7-9 (of any split) is read for training, statistics or anything else before
    the final evaluation;
  * seen validation: 6000 balanced pairs of the validation split -> seen val AUC and the
    best-accuracy distance threshold;
  * unseen test: the TEST images of classes 7-9, 6000 balanced pairs (seed 0, the same for every
    run) -> ROC AUC of -distance, pair accuracy at the seen-val threshold; 1000 3-way one-shot
    episodes (one support image per class, one query, nearest support wins).
  Distances are L2 between L2-normalised vectors; every readout and normalisation below is scored.

Recipes (--recipe):
  ce          softmax classifier on classes 0-6 (head on the trunk's feature)
  ce_rot      ce + --lam x 4-way rotation prediction (Gidaris et al. 2019), rotation head on the trunk
  triplet     class-level triplet batch-all (margin --margin) on the embedding (the project's r2)
  inst        instance pseudo-identities: every image is its own identity, --views augmented views
              each; NT-Xent / multi-positive contrastive loss at temperature --temp (SimCLR); with
              --inst-loss triplet the same batch is scored with triplet batch-all over instances
  inst_supcon --inst-weight x inst + --lam x SupCon (Khosla et al. 2020) over class labels on the
              same batch, temperature --sup-temp (--inst-weight 0: SupCon alone)
  inst_ce     inst + --lam x softmax cross-entropy (classifier head on the trunk's feature)
  inst_triplet inst + --lam x class-level triplet batch-all on the embedding
  --rot-classes 1: each seen class rotated by 90/180/270 degrees is a class of its own (28 classes).
Augmentation: --hflip, --shift, --zoom, --rotate (one random affine per image), --jitter (contrast
and brightness), --erase (random erasing); every recipe augments its training images.

Nets (--net): small = convkit's small-cnn (conv32-pool-conv64-pool-fc128-dropout-fc d), with the
final Linear as the embedding head; resnet20 = CIFAR ResNet-20 (width 16) with a Linear(64, d) head (not used in the measurements below).
Readouts: emb (the model's output, what convkit's Embedder reads), feat (the layer before the
head; for ce and ce_rot the emb head is never trained, a random projection of feat), map2 / map4 (the last conv map average-pooled to 2x2 / 4x4), pixels (for scale).
Normalisations before the final L2: none (l2); standardised with the seen training images'
statistics (std+l2); signed square root (pow+l2); standardised with the statistics of the same seen
images rotated by 0/90/180/270 degrees (rstd+l2). Each readout's threshold is chosen on its own
seen validation pairs.

Measured (2026-12-07, small net, 1 thread, Adam 1e-3 cosine, batch 128, d 128, flip + 10% shift,
seed 1 unless said; unseen AUC / pair accuracy / 3-way one-shot, readout emb unless said):
  triplet (class batch-all), 2 ep              0.809 / 75.4% / 78.7%
  inst (NT-Xent t 0.2 alone), 2 ep             0.667 / 51.1% / 57.1%   (below raw pixels, 0.806)
  inst_supcon (1 + 1), 2 ep, emb std+l2        0.851 / 73.2% / 82.1%   (seed 2: 0.801 / 70.2% / 77.8%)
  inst_supcon --inst-weight 0 (SupCon alone)   0.795 / 72.6% / 78.0%
  inst_triplet --inst-loss triplet --batch 64, 1 ep   0.833 / 68.3% / 78.0%  (2 ep: 0.830 / 64.6% / 78.2%)
  ce / ce_rot, map4 pow+l2                     0.820 / 0.831
The bar (0.93 / 85% / 88%) is not reached by any of them. Bag-bag pairs are the main failure.

Run (one thread, 2-4 minutes a run on a loaded 2-core machine):
  OMP_NUM_THREADS=1 /usr/bin/python3 bench/embed_recipe_torch.py --recipe inst_supcon --epochs 2
  OMP_NUM_THREADS=1 /usr/bin/python3 bench/embed_recipe_torch.py --recipe inst_triplet --inst-loss triplet --batch 64 --epochs 1
  OMP_NUM_THREADS=1 /usr/bin/python3 bench/embed_recipe_torch.py --recipe triplet --epochs 2
--save W keeps the weights; --load W evaluates them without training. Needs python3-torch,
python3-numpy and dataset-fashion-mnist (Debian).
Prints one line per readout and a final JSON line with the settings and the numbers.
"""
import argparse
import gzip
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SRC = '/usr/share/datasets/fashion-mnist/'
SEEN, UNSEEN = list(range(7)), [7, 8, 9]


def idx(name, off):
    return np.frombuffer(gzip.open(SRC + name).read(), np.uint8, offset=off)


# ----------------------------------------------------------------------------------------- nets
class SmallCNN(nn.Module):
    """convkit's small-cnn (src/models/small_cnn.cpp), num_classes = embedding dim."""

    def __init__(self, dim, dropout=0.5, width=1):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32 * width, 3, 1, 1)
        self.c2 = nn.Conv2d(32 * width, 64 * width, 3, 1, 1)
        self.fc1 = nn.Linear(64 * width * 49, 128)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(128, dim)
        self.feat_dim = 128

    def forward(self, x):
        m = F.max_pool2d(F.relu(self.c2(F.max_pool2d(F.relu(self.c1(x)), 2))), 2)
        f = F.relu(self.fc1(m.flatten(1)))
        return {'emb': self.head(self.drop(f)), 'feat': f, 'map': m}


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + (self.down(x) if self.down is not None else x))


class ResNet20(nn.Module):
    """bench/train_torch.py's CifarResNet(20) with the classifier replaced by a Linear(64, dim) head."""

    def __init__(self, dim, depth=20):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False); self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(n):
                layers.append(Block(cin, cout, stride if b == 0 else 1)); cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(64, dim)
        self.feat_dim = 64

    def forward(self, x):
        m = self.body(F.relu(self.bn1(self.conv1(x))))
        f = m.mean((2, 3))
        return {'emb': self.head(f), 'feat': f, 'map': m}


# --------------------------------------------------------------------------------- augmentation
def augment(x, g, a):
    """Per-image random affine (shift, zoom, rotation, horizontal flip) by one grid_sample, then
    random erasing; x is standardised (background ~ -0.8), so out-of-image pixels take the
    background value."""
    n = x.shape[0]
    u = lambda: torch.rand(n, generator=g) * 2 - 1
    s = torch.exp(u() * math.log(1 + a.zoom)) if a.zoom > 0 else torch.ones(n)  # >1 = zoom out
    th = u() * a.rotate * math.pi / 180
    fl = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0) if a.hflip else torch.ones(n)
    tx, ty = u() * a.shift * 2, u() * a.shift * 2
    A = torch.zeros(n, 2, 3)
    A[:, 0, 0] = s * torch.cos(th) * fl; A[:, 0, 1] = -s * torch.sin(th); A[:, 0, 2] = tx
    A[:, 1, 0] = s * torch.sin(th) * fl; A[:, 1, 1] = s * torch.cos(th); A[:, 1, 2] = ty
    bg = BG
    y = F.grid_sample(x - bg, F.affine_grid(A, x.shape, align_corners=False), align_corners=False,
                      padding_mode='zeros') + bg
    if a.jitter > 0:
        c = 1 + u() * a.jitter; b = u() * a.jitter
        y = (y - bg) * c[:, None, None, None] + bg + b[:, None, None, None]
    if a.erase > 0:
        H = x.shape[-1]
        e = torch.rand(n, generator=g) < a.erase
        area = (torch.rand(n, generator=g) * 0.3 + 0.02) * H * H
        r = torch.exp((torch.rand(n, generator=g) * 2 - 1) * math.log(3.3))
        h = (area * r).sqrt().clamp(1, H).long(); w = (area / r).sqrt().clamp(1, H).long()
        y0 = (torch.rand(n, generator=g) * (H - h + 1)).long(); x0 = (torch.rand(n, generator=g) * (H - w + 1)).long()
        ar = torch.arange(H)
        mh = (ar[None] >= y0[:, None]) & (ar[None] < (y0 + h)[:, None])
        mw = (ar[None] >= x0[:, None]) & (ar[None] < (x0 + w)[:, None])
        m = (mh[:, :, None] & mw[:, None, :] & e[:, None, None])[:, None]
        y = torch.where(m, torch.randn(y.shape, generator=g), y)
    return y


# ------------------------------------------------------------------------------------- losses
def multi_pos_contrastive(z, labels, temp):
    """SupCon (Khosla et al. 2020, L_out); with instance labels and 2 views it is NT-Xent (SimCLR)."""
    z = F.normalize(z, dim=1)
    sim = z @ z.t() / temp
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    logp = sim - torch.logsumexp(sim, 1, keepdim=True)
    pos = (labels[:, None] == labels[None]) & ~eye
    return -(logp * pos).sum(1).div(pos.sum(1).clamp(min=1)).mean()


def triplet_batch_all(z, labels, margin):
    """Hermans et al.'s batch-all on unit embeddings, averaged over the active triplets."""
    z = F.normalize(z, dim=1)
    d = (2 - 2 * z @ z.t()).clamp(min=1e-12).sqrt()
    same = labels[:, None] == labels[None]
    eye = torch.eye(len(z), dtype=torch.bool)
    valid = (same & ~eye)[:, :, None] & (~same)[:, None, :]
    t = F.relu(d[:, :, None] - d[:, None, :] + margin) * valid
    return t.sum() / ((t > 1e-16).sum().clamp(min=1))


# --------------------------------------------------------------------------------- evaluation
def pairs(y, n, rng):
    a = rng.integers(0, len(y), 8 * n); b = rng.integers(0, len(y), 8 * n)
    same = (y[a] == y[b]) & (a != b); diff = y[a] != y[b]
    pa = np.concatenate([a[same][:n // 2], a[diff][:n // 2]]); pb = np.concatenate([b[same][:n // 2], b[diff][:n // 2]])
    return pa, pb, np.r_[np.ones(n // 2), np.zeros(n // 2)]


def auc(score, lab):
    o = np.argsort(score, kind='stable'); r = np.empty(len(o)); r[o] = np.arange(1, len(o) + 1)
    npos = lab.sum(); nneg = len(lab) - npos
    return (r[lab == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def best_threshold(d, lab):
    o = np.argsort(d, kind='stable'); ds, ls = d[o], lab[o]
    # match if d <= thr: accuracy at cut k (first k matched) = tp(k) + tn(k)
    tp = np.r_[0, np.cumsum(ls)]; fp = np.r_[0, np.cumsum(1 - ls)]
    acc = (tp + (len(ls) - ls.sum() - fp)) / len(ls)
    k = int(np.argmax(acc))
    thr = ds[k - 1] if k > 0 else -1.0
    if 0 < k < len(ds): thr = 0.5 * (ds[k - 1] + ds[k])
    return thr, acc[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--recipe', default='inst', choices=['ce', 'ce_rot', 'triplet', 'inst', 'inst_supcon', 'inst_ce', 'inst_triplet'])
    ap.add_argument('--net', default='small', choices=['small', 'resnet20'])
    ap.add_argument('--epochs', type=float, default=2)
    ap.add_argument('--batch', type=int, default=128, help='images per batch (each in --views views for inst*)')
    ap.add_argument('--views', type=int, default=2)
    ap.add_argument('--dim', type=int, default=128)
    ap.add_argument('--temp', type=float, default=0.2)
    ap.add_argument('--sup-temp', type=float, default=0.2)
    ap.add_argument('--margin', type=float, default=0.2)
    ap.add_argument('--inst-loss', default='ntxent', choices=['ntxent', 'triplet'])
    ap.add_argument('--inst-weight', type=float, default=1.0, help='weight of the instance term of inst_* (0: the supervised term alone)')
    ap.add_argument('--rot-classes', type=int, default=0, help='1: rotations by 90/180/270 degrees make 3 more classes of each seen class')
    ap.add_argument('--lam', type=float, default=1.0, help='weight of the supervised term of inst_*')
    ap.add_argument('--opt', default='adam', choices=['adam', 'sgd'])
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--wd', type=float, default=5e-4)
    ap.add_argument('--dropout', type=float, default=0.5)
    ap.add_argument('--hflip', type=int, default=1)
    ap.add_argument('--shift', type=float, default=0.1, help='max shift, fraction of the size')
    ap.add_argument('--zoom', type=float, default=0.0, help='scale in [1/(1+z), 1+z]')
    ap.add_argument('--rotate', type=float, default=0.0, help='max degrees')
    ap.add_argument('--jitter', type=float, default=0.0, help='random contrast x[1-j,1+j] and brightness +-j (in std units)')
    ap.add_argument('--erase', type=float, default=0.0, help='probability of random erasing')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--tag', default='')
    ap.add_argument('--save', default='', help='save the trained weights here')
    ap.add_argument('--load', default='', help='skip training: evaluate these weights')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    t_start = time.time()

    # ---- data: seen training images only; 10% seeded validation split
    trx = idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28); tr_y = idx('train-labels-idx1-ubyte.gz', 8)
    seen = np.flatnonzero(tr_y < 7)
    perm = np.random.default_rng(a.seed).permutation(seen)
    nval = len(perm) // 10
    va_i, tr_i = perm[:nval], perm[nval:]
    X = torch.tensor(trx[tr_i]).float().div(255); Y = torch.tensor(tr_y[tr_i]).long()
    mu, sd = X.mean().item(), X.std().item()  # seen training statistics only
    X = (X - mu) / sd
    global BG
    BG = (0 - mu) / sd
    XV = (torch.tensor(trx[va_i]).float().div(255) - mu) / sd; YV = tr_y[va_i]

    net = SmallCNN(a.dim, a.dropout) if a.net == 'small' else ResNet20(a.dim)
    extra = nn.ModuleDict()
    if a.recipe in ('ce', 'ce_rot', 'inst_ce'):
        extra['cls'] = nn.Linear(net.feat_dim, 28 if a.rot_classes else 7)
    if a.recipe == 'ce_rot':
        extra['rot'] = nn.Linear(net.feat_dim, 4)
    params = list(net.parameters()) + list(extra.parameters())
    if a.opt == 'adam':
        opt = torch.optim.Adam(params, lr=a.lr, weight_decay=a.wd if a.wd < 1e-3 else 0)
    else:
        opt = torch.optim.SGD(params, lr=a.lr, momentum=0.9, weight_decay=a.wd)
    nb = len(X) // a.batch
    steps = max(1, int(a.epochs * nb)); t = 0
    print('train %d seen images, val %d; %d steps of %d' % (len(X), len(XV), steps, a.batch), flush=True)
    net.train(); extra.train()
    if a.load:
        net.load_state_dict(torch.load(a.load)); steps = 0
    while t < steps:
        order = torch.randperm(len(X), generator=g)
        for i in range(nb):
            if t >= steps: break
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * t / steps))
            for pg in opt.param_groups: pg['lr'] = lr
            b = order[i * a.batch:(i + 1) * a.batch]
            xb, yb = X[b], Y[b]
            if a.rot_classes:  # each seen class rotated by k*90 degrees is a class of its own (7 x 4)
                k = torch.randint(0, 4, (len(b),), generator=g)
                xb = xb.clone()
                for kk in (1, 2, 3):
                    m = k == kk
                    xb[m] = torch.rot90(xb[m], kk, (2, 3))
                yb = yb * 4 + k
            if a.recipe.startswith('inst'):
                V = a.views
                xv = augment(xb.repeat(V, 1, 1, 1), g, a)
                inst = torch.arange(len(b)).repeat(V); cls = yb.repeat(V)
                o = net(xv)
                if a.inst_loss == 'ntxent':
                    loss = a.inst_weight * multi_pos_contrastive(o['emb'], inst, a.temp)
                else:
                    loss = a.inst_weight * triplet_batch_all(o['emb'], inst, a.margin)
                if a.recipe == 'inst_supcon':
                    loss = loss + a.lam * multi_pos_contrastive(o['emb'], cls, a.sup_temp)
                elif a.recipe == 'inst_ce':
                    loss = loss + a.lam * F.cross_entropy(extra['cls'](o['feat']), cls)
                elif a.recipe == 'inst_triplet':
                    loss = loss + a.lam * triplet_batch_all(o['emb'], cls, a.margin)
            else:
                xa = augment(xb, g, a)
                o = net(xa)
                if a.recipe == 'triplet':
                    loss = triplet_batch_all(o['emb'], yb, a.margin)
                else:
                    loss = F.cross_entropy(extra['cls'](o['feat']), yb)
                    if a.recipe == 'ce_rot':
                        k = torch.randint(0, 4, (len(b),), generator=g)
                        xr = torch.stack([torch.rot90(xa[j], int(k[j]), (1, 2)) for j in range(len(b))])
                        loss = loss + a.lam * F.cross_entropy(extra['rot'](net(xr)['feat']), k)
            opt.zero_grad(); loss.backward(); opt.step(); t += 1
            if t % 50 == 0 or t == steps:
                print('step %d/%d loss %.4f lr %.5f %.0fs' % (t, steps, loss.item(), lr, time.time() - t_start), flush=True)
    train_s = time.time() - t_start
    if a.save:
        torch.save(net.state_dict(), a.save)

    # ---- features
    net.eval()

    def readouts(x):
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), 1000):
                o = net(x[i:i + 1000])
                outs.append({'emb': o['emb'], 'feat': o['feat'], 'map2': F.adaptive_avg_pool2d(o['map'], 2).flatten(1),
                             'map4': F.adaptive_avg_pool2d(o['map'], 4).flatten(1)})
        return {k: torch.cat([p[k] for p in outs]) for k in outs[0]}

    FS = readouts(X[torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:10000]])  # seen stats
    FV = readouts(XV)
    # statistics of the same seen images rotated by 0/90/180/270 degrees (a broader seen distribution)
    XS = X[torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:10000]]
    FR = readouts(torch.cat([torch.rot90(XS[i::4], i, (2, 3)) for i in range(4)]))
    # only now read the unseen classes' test images
    tex = idx('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28); te_y = idx('t10k-labels-idx1-ubyte.gz', 8)
    un = np.flatnonzero(te_y >= 7)
    XU = (torch.tensor(tex[un]).float().div(255) - mu) / sd; yu = te_y[un]
    FU = readouts(XU)
    FU['pixels'] = XU.flatten(1); FV['pixels'] = XV.flatten(1); FS['pixels'] = X[:10000].flatten(1)
    FR['pixels'] = torch.cat([torch.rot90(XS[i::4], i, (2, 3)) for i in range(4)]).flatten(1)

    vpa, vpb, vlab = pairs(YV, 6000, np.random.default_rng(0))
    upa, upb, ulab = pairs(yu, 6000, np.random.default_rng(0))
    erng = np.random.default_rng(0)
    cls_idx = [np.flatnonzero(yu == c) for c in UNSEEN]
    episodes = []
    for e in range(1000):
        sel = [erng.choice(ci, 2, replace=False) for ci in cls_idx]
        c = int(erng.integers(0, 3))
        episodes.append(([s[0] for s in sel], sel[c][1], c))
    results = {}
    for k in FU:
        for norm in ('l2', 'std+l2', 'pow+l2', 'rstd+l2'):
            def prep(v):
                if norm == 'rstd+l2':
                    v = (v - FR[k].mean(0)) / (FR[k].std(0) + 1e-6)
                if norm == 'pow+l2':
                    v = v.sign() * v.abs().sqrt()
                if norm == 'std+l2':
                    v = (v - FS[k].mean(0)) / (FS[k].std(0) + 1e-6)
                return F.normalize(v, dim=1).numpy()
            zv, zu = prep(FV[k]), prep(FU[k])
            dv = np.sqrt(((zv[vpa] - zv[vpb]) ** 2).sum(1))
            thr, vacc = best_threshold(dv, vlab)
            du = np.sqrt(((zu[upa] - zu[upb]) ** 2).sum(1))
            uacc = np.mean((du <= thr) == (ulab == 1))
            hit = 0
            for sup, q, c in episodes:
                hit += int(np.argmin(((zu[sup] - zu[q]) ** 2).sum(1)) == c)
            r = {'seen_val_auc': round(float(auc(-dv, vlab)), 4), 'thr': round(float(thr), 4),
                 'unseen_auc': round(float(auc(-du, ulab)), 4), 'unseen_pair_acc': round(float(uacc), 4),
                 'unseen_3way': round(hit / 1000, 4)}
            results[k + '/' + norm] = r
            print('%-6s %-7s seen val AUC %.3f  unseen AUC %.3f  pairs %.1f%% (thr %.3f)  3-way %.1f%%' % (
                k, norm, r['seen_val_auc'], r['unseen_auc'], 100 * r['unseen_pair_acc'], thr, 100 * r['unseen_3way']), flush=True)
    print(json.dumps({'args': vars(a), 'train_s': round(train_s, 1), 'results': results}))


BG = 0.0
if __name__ == '__main__':
    main()
