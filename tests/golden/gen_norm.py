"""Golden files for batch norm and local response norm (tests/test_norm.cpp).

Inputs are drawn in float32 and stored as such; PyTorch computes in float64 from them and the
results are stored as float32. Run: /usr/bin/python3 tests/golden/gen_norm.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 20261124


def f64(t):
    return t.double().requires_grad_(t.is_floating_point())


def bn_case(name, x_shape, training, momentum=0.1, eps=1e-5):
    C = x_shape[1]
    x = torch.randn(x_shape) * 2 + 0.5
    w = torch.rand(C) + 0.5
    b = torch.randn(C)
    rm = torch.randn(C) * 0.1
    rv = torch.rand(C) + 0.5
    g = torch.randn(x_shape)
    xd, wd, bd = f64(x), f64(w), f64(b)
    rm_after, rv_after = rm.double(), rv.double()
    y = F.batch_norm(xd, rm_after, rv_after, wd, bd, training=training, momentum=momentum, eps=eps)
    y.backward(g.double())
    golden.save(name, {"x": x, "weight": w, "bias": b, "running_mean": rm, "running_var": rv,
                       "grad_y": g, "y": y.float(), "dx": xd.grad.float(), "dweight": wd.grad.float(),
                       "dbias": bd.grad.float(), "running_mean_after": rm_after.float(),
                       "running_var_after": rv_after.float()},
                SEED, training=training, momentum=momentum, eps=eps)


def lrn_case(name, x_shape, size, alpha, beta, k):
    x = torch.randn(x_shape) * 3
    g = torch.randn(x_shape)
    xd = f64(x)
    y = F.local_response_norm(xd, size, alpha=alpha, beta=beta, k=k)
    y.backward(g.double())
    golden.save(name, {"x": x, "grad_y": g, "y": y.float(), "dx": xd.grad.float()},
                SEED, size=size, alpha=alpha, beta=beta, k=k)


def main():
    torch.manual_seed(SEED)
    bn_case("norm_bn_train", (4, 3, 5, 5), training=True)
    bn_case("norm_bn_train_2d", (8, 5), training=True, momentum=0.3, eps=1e-3)
    bn_case("norm_bn_eval", (3, 4, 3, 5), training=False)
    lrn_case("norm_lrn_alexnet", (2, 8, 5, 5), size=5, alpha=1e-4, beta=0.75, k=2.0)
    lrn_case("norm_lrn_even", (2, 7, 4, 3), size=4, alpha=0.5, beta=0.6, k=1.0)
    lrn_case("norm_lrn_3d", (3, 6, 7), size=3, alpha=0.3, beta=0.75, k=1.5)


if __name__ == "__main__":
    main()
