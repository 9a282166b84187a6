"""Golden files for the dense area: linear, activations, softmax/log_softmax and the losses.

Each reference is computed in float64 by PyTorch and stored as float32 (inputs too), so the C++
test feeds exactly the stored inputs. Run: /usr/bin/python3 tests/golden/gen_dense.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 20240611


def f32(d):
    return {k: (v.float() if v.is_floating_point() else v) for k, v in d.items()}


def var(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float64) * scale).float().double().requires_grad_()


def grads(out, inputs, dy=None):
    dy = torch.ones_like(out) if dy is None else dy
    return torch.autograd.grad(out, inputs, dy)


def gen_linear():
    x, w, b = var(5, 7), var(4, 7), var(4)
    dy = var(5, 4).detach()
    y = F.linear(x, w, b)
    dx, dw, db = grads(y, [x, w, b], dy)
    golden.save("dense_linear", f32(dict(x=x, w=w, b=b, dy=dy, y=y, dx=dx, dw=dw, db=db)), SEED)


def gen_activation():
    # Inputs kept away from the kinks (0 and 6), where PyTorch and we agree anyway but float32
    # rounding of the input could flip a side.
    x = var(4, 9, scale=4.0).detach()
    x = (x + 0.05 * torch.sign(x)).float().double()
    x[x.abs() < 0.05] = 0.5
    x = x.requires_grad_()
    dy = var(4, 9).detach()
    out = dict(x=x, dy=dy)
    acts = dict(relu=F.relu, leaky_relu=lambda t: F.leaky_relu(t, 0.1), elu=lambda t: F.elu(t, 1.3),
                sigmoid=torch.sigmoid, tanh=torch.tanh, relu6=F.relu6)
    for name, fn in acts.items():
        y = fn(x)
        out["y_" + name] = y
        out["dx_" + name] = grads(y, [x], dy)[0]
    golden.save("dense_activation", f32(out), SEED, leaky_slope=0.1, elu_alpha=1.3)


def gen_softmax():
    x = var(3, 4, 5, scale=3.0)
    dy = var(3, 4, 5).detach()
    out = dict(x=x, dy=dy)
    for dim in (0, 1, 2):
        for name, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
            y = fn(x, dim=dim)
            out[f"{name}_d{dim}"] = y
            out[f"d{name}_d{dim}"] = grads(y, [x], dy)[0]
    golden.save("dense_softmax", f32(out), SEED)


def gen_cross_entropy():
    logits = var(6, 5, scale=2.0)
    target = torch.tensor([0, 4, 2, 2, 1, 3], dtype=torch.int64)
    out = dict(logits=logits, target=target)
    for tag, eps in (("ls0", 0.0), ("ls01", 0.1)):
        for red in ("mean", "sum", "none"):
            loss = F.cross_entropy(logits, target, label_smoothing=eps, reduction=red)
            out[f"loss_{tag}_{red}"] = loss
            out[f"dlogits_{tag}_{red}"] = grads(loss, [logits])[0]
    # Per-pixel form: logits [N,C,H,W], target [N,H,W].
    pix = var(2, 3, 2, 3)
    pix_target = torch.randint(0, 3, (2, 2, 3), dtype=torch.int64)
    loss = F.cross_entropy(pix, pix_target, label_smoothing=0.1)
    out.update(pix_logits=pix, pix_target=pix_target, pix_loss=loss,
               pix_dlogits=grads(loss, [pix])[0])
    # Soft targets (probabilities per row).
    soft = torch.softmax(torch.randn(6, 5, dtype=torch.float64), dim=1).float().double()
    soft.requires_grad_()
    loss = F.cross_entropy(logits, soft)
    dl, ds = grads(loss, [logits, soft])
    out.update(soft_target=soft, soft_loss=loss, soft_dlogits=dl, soft_dtarget=ds)
    golden.save("loss_cross_entropy", f32(out), SEED)


def gen_bce():
    logits = var(4, 3, scale=3.0)
    target = torch.rand(4, 3, dtype=torch.float64).float().double().requires_grad_()
    pos_weight = (torch.rand(3, dtype=torch.float64) * 2 + 0.5).float().double()
    out = dict(logits=logits, target=target, pos_weight=pos_weight)
    for red in ("mean", "sum", "none"):
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction=red)
        out["loss_" + red] = loss
        out["dlogits_" + red], out["dtarget_" + red] = grads(loss, [logits, target])
    loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
    out["loss_pw"] = loss
    out["dlogits_pw"], out["dtarget_pw"] = grads(loss, [logits, target])
    golden.save("loss_bce_with_logits", f32(out), SEED)


def gen_regression():
    pred, target = var(5, 4, scale=2.0), var(5, 4, scale=2.0)
    out = dict(pred=pred, target=target)
    for red in ("mean", "sum", "none"):
        loss = F.mse_loss(pred, target, reduction=red)
        out["mse_" + red] = loss
        out["mse_dpred_" + red], out["mse_dtarget_" + red] = grads(loss, [pred, target])
        for tag, beta in (("b1", 1.0), ("b05", 0.5), ("b0", 0.0)):
            loss = F.smooth_l1_loss(pred, target, reduction=red, beta=beta)
            out[f"sl1_{tag}_{red}"] = loss
            out[f"sl1_{tag}_dpred_{red}"], out[f"sl1_{tag}_dtarget_{red}"] = grads(loss, [pred, target])
    golden.save("loss_regression", f32(out), SEED)


def main():
    torch.manual_seed(SEED)
    gen_linear()
    gen_activation()
    gen_softmax()
    gen_cross_entropy()
    gen_bce()
    gen_regression()


if __name__ == "__main__":
    main()
