"""Golden file for the indexing ops: /usr/bin/python3 tests/golden/gen_indexing.py

Each case stores the float32 input x, its int64 index (or uint8 cond), r (upstream gradient),
y = op(x) and dx = d(sum(y*r))/dx computed in float64 from the float32 inputs (stored as
float32), and `params` (int64) read by the C++ test:
  index_select<i>, gather<i>: [dim]
  where<i>:                   [] (inputs cond, a, b; gradients da, db)
  topk<i>:                    [k, dim, largest, sorted] (also `indices`)
  argsort<i>:                 [dim, descending] (y is the int64 indices; no gradient)
Values are distinct (a random permutation), so the rank order is unique and ties cannot differ.
"""
import torch

import golden

SEED = 20261206


def distinct(shape, gen):
    n = 1
    for s in shape:
        n *= s
    return (torch.randperm(n, generator=gen).float() / n - 0.5).reshape(shape)


def grad_case(fn, x32, gen):
    x = x32.double().requires_grad_(True)
    y = fn(x)
    r32 = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    (y * r32.double()).sum().backward()
    return {"x": x32, "r": r32, "y": y.detach().float(), "dx": x.grad.float()}


def main():
    gen = torch.Generator().manual_seed(SEED)
    out = {}

    def add(name, tensors, params):
        for k, v in tensors.items():
            out[name + "." + k] = v
        out[name + ".params"] = torch.tensor(params, dtype=torch.int64)

    for i, (shape, dim, index) in enumerate([((4, 5, 3), 1, [4, 0, 0, 2]),
                                             ((6, 2), 0, [5, 5, 1]),
                                             ((2, 3, 4), -1, [3])]):
        idx = torch.tensor(index, dtype=torch.int64)
        case = grad_case(lambda x: torch.index_select(x, dim, idx), distinct(shape, gen), gen)
        case["index"] = idx
        add("index_select%d" % i, case, [dim])
    for i, (shape, dim, ishape) in enumerate([((3, 4, 5), 1, (3, 6, 2)),
                                              ((4, 3), 0, (2, 3)),
                                              ((2, 3, 4), -1, (2, 3, 7))]):
        idx = torch.randint(0, shape[dim], ishape, generator=gen)
        case = grad_case(lambda x: torch.gather(x, dim, idx), distinct(shape, gen), gen)
        case["index"] = idx
        add("gather%d" % i, case, [dim])
    for i, (cs, as_, bs) in enumerate([((3, 4), (3, 4), (3, 4)),
                                       ((2, 1, 4), (3, 1), (1, 3, 4))]):
        cond = torch.rand(cs, generator=gen) > 0.5
        a32 = torch.randn(as_, generator=gen)
        b32 = torch.randn(bs, generator=gen)
        a = a32.double().requires_grad_(True)
        b = b32.double().requires_grad_(True)
        y = torch.where(cond, a, b)
        r32 = torch.randn(y.shape, generator=gen)
        (y * r32.double()).sum().backward()
        add("where%d" % i, {"cond": cond.to(torch.uint8), "a": a32, "b": b32, "r": r32,
                            "y": y.detach().float(), "da": a.grad.float(),
                            "db": b.grad.float()}, [])
    for i, (shape, k, dim, largest) in enumerate([((3, 7), 3, 1, True),
                                                  ((5, 2, 4), 2, 0, False),
                                                  ((2, 6, 3), 6, 1, True)]):
        x32 = distinct(shape, gen)
        case = grad_case(lambda x: torch.topk(x, k, dim, largest, True).values, x32, gen)
        case["indices"] = torch.topk(x32, k, dim, largest, True).indices
        add("topk%d" % i, case, [k, dim, int(largest), 1])
    for i, (shape, dim, desc) in enumerate([((4, 6), 1, False), ((5, 3), 0, True)]):
        x32 = distinct(shape, gen)
        add("argsort%d" % i, {"x": x32, "y": torch.argsort(x32, dim, desc)}, [dim, int(desc)])
    golden.save("indexing", out, SEED)


if __name__ == "__main__":
    main()
