"""Golden file for the embedding losses: /usr/bin/python3 tests/golden/gen_embed.py

A PyTorch reference of convkit's triplet mining (batch-all, batch-hard, semi-hard) and contrastive
loss, written with masks over the whole distance matrix (the C++ side uses loops), on the same
embeddings. Stored: x (float32 [12, 6], raw embeddings of P=3 classes x K=4), labels (int64), and
for each case <name>.loss and <name>.dx = d loss / d x, computed in float64 from the float32 x
through l2_normalize. Cases: triplet_<mining>_<margin>[_sq] and contrastive_<margin>; the
semi-hard case also stores its chosen negative per (anchor, positive) pair as semihard_negative.
"""
import torch

import golden

SEED = 20261206
EPS = 1e-12


def l2_normalize(x):
    return x / ((x * x).sum(1, keepdim=True) + EPS).sqrt()


def pdist(x, squared):
    sq = (x * x).sum(1, keepdim=True)
    d2 = (sq + sq.t() - 2 * x @ x.t()).clamp_min(0)
    return d2 if squared else (d2 + EPS).sqrt()


def masks(y):
    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool)
    return same & ~eye, ~same  # positives, negatives


def triplet(x, y, mining, margin, squared):
    d = pdist(l2_normalize(x), squared)
    pos, neg = masks(y)
    if mining == "all":
        l = (d[:, :, None] - d[:, None, :] + margin).clamp_min(0)
        valid = pos[:, :, None] & neg[:, None, :]
        l = l * valid
        return l.sum() / max(int((l > 0).sum()), 1), None
    if mining == "hard":
        hp = d.masked_fill(~pos, float("-inf")).max(1).values
        hn = d.masked_fill(~neg, float("inf")).min(1).values
        return (hp - hn + margin).clamp_min(0).mean(), None
    # semi-hard: per (a, p), the nearest negative farther than d[a, p], else the farthest negative
    dd = d.detach()
    farther = neg[:, None, :] & (dd[:, None, :] > dd[:, :, None])  # [a, p, n]
    semi = torch.where(farther, dd[:, None, :], torch.tensor(float("inf"), dtype=d.dtype))
    semi_idx = semi.argmin(2)
    far_idx = dd.masked_fill(~neg, float("-inf")).argmax(1)[:, None].expand_as(semi_idx)
    chosen = torch.where(farther.any(2), semi_idx, far_idx)
    a, p = pos.nonzero(as_tuple=True)
    n = chosen[a, p]
    return (d[a, p] - d[a, n] + margin).clamp_min(0).mean(), n


def contrastive(x, y, margin):
    d = pdist(l2_normalize(x), False)
    iu = torch.triu_indices(len(y), len(y), 1)
    dp = d[iu[0], iu[1]]
    same = (y[iu[0]] == y[iu[1]]).double()
    return 0.5 * (same * dp ** 2 + (1 - same) * (margin - dp).clamp_min(0) ** 2).mean()


def main():
    gen = torch.Generator().manual_seed(SEED)
    x32 = torch.randn(12, 6, generator=gen, dtype=torch.float32)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 2, 0, 1, 1, 0, 2], dtype=torch.int64)
    out = {"x": x32, "labels": y}

    def record(name, fn):
        x = x32.double().requires_grad_(True)
        loss, extra = fn(x)
        loss.backward()
        out[name + ".loss"] = loss.detach().float()
        out[name + ".dx"] = x.grad.float()
        return extra

    for mining in ("all", "hard", "semihard"):
        for margin in (0.2, 1.0):
            for squared in (False, True):
                name = "triplet_%s_%g%s" % (mining, margin, "_sq" if squared else "")
                n = record(name, lambda x: triplet(x, y, mining, margin, squared))
                if mining == "semihard" and margin == 0.2 and not squared:
                    out["semihard_negative"] = n
    for margin in (0.5, 1.5):
        record("contrastive_%g" % margin, lambda x: (contrastive(x, y, margin), None))
    golden.save("embed_losses", out, SEED)


if __name__ == "__main__":
    main()
