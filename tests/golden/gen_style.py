"""Golden files for neural style transfer: the losses (style/losses.h) and L-BFGS iterates
(optim/lbfgs.h) from PyTorch, in float64.

style_losses: Gram matrix, content, style and total-variation losses with their input gradients.
lbfgs_*: parameters after each of STEPS calls of torch.optim.LBFGS.step(closure) on
  - a convex quadratic 0.5 x'Ax - b'x (fixed step and strong-Wolfe line search), and
  - a small style problem: the pixels of a 3x12x12 image under a two-layer random conv net, content
    loss at layer 2, style losses at layers 1 and 2, total variation.
"""
import torch
import torch.nn.functional as F

import golden

STEPS = 3


def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def tv(x):
    dh = x[:, :, 1:, :] - x[:, :, :-1, :]
    dw = x[:, :, :, 1:] - x[:, :, :, :-1]
    return (dh * dh).mean() + (dw * dw).mean()


def losses_case():
    torch.manual_seed(21)
    f = torch.randn(2, 5, 4, 6, dtype=torch.float64, requires_grad=True)
    content_target = torch.randn(2, 5, 4, 6, dtype=torch.float64)
    gram_target = gram(torch.randn(1, 5, 7, 3, dtype=torch.float64))
    up = torch.randn(2, 5, 5, dtype=torch.float64)
    g = gram(f)
    (dg,) = torch.autograd.grad((g * up).sum(), f)
    c = F.mse_loss(f, content_target)
    (dc,) = torch.autograd.grad(c, f)
    s = ((gram(f) - gram_target) ** 2).mean()
    (ds,) = torch.autograd.grad(s, f)
    t = tv(f)
    (dt,) = torch.autograd.grad(t, f)
    golden.save("style_losses", {
        "features": f.detach(), "content_target": content_target, "gram_target": gram_target,
        "gram_upstream": up, "gram": g.detach(), "gram_grad": dg, "content": c.detach(),
        "content_grad": dc, "style": s.detach(), "style_grad": ds, "tv": t.detach(),
        "tv_grad": dt}, seed=21)


def run_lbfgs(name, x0, objective, **options):
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        return loss

    iterates, losses = [], []
    for _ in range(STEPS):
        losses.append(float(opt.step(closure)))
        iterates.append(x.detach().clone())
    return {"x0": x0, "iterates": torch.stack(iterates),
            "losses": torch.tensor(losses, dtype=torch.float64)}


def quadratic_cases():
    torch.manual_seed(5)
    m = torch.randn(6, 6, dtype=torch.float64)
    a = m @ m.T + 0.5 * torch.eye(6, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    x0 = torch.randn(6, dtype=torch.float64)
    quad = lambda x: 0.5 * x @ a @ x - b @ x
    fixed = run_lbfgs("fixed", x0, quad, lr=0.5, max_iter=4, history_size=3)
    golden.save("lbfgs_quadratic", dict(fixed, a=a, b=b), seed=5, max_iter=4, history_size=3,
                lr=0.5)
    wolfe = run_lbfgs("wolfe", x0, quad, max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    golden.save("lbfgs_quadratic_wolfe", dict(wolfe, a=a, b=b), seed=5, max_iter=4, history_size=3)


def style_case():
    torch.manual_seed(9)
    w1 = torch.randn(4, 3, 3, 3, dtype=torch.float64) * 0.4
    w2 = torch.randn(6, 4, 3, 3, dtype=torch.float64) * 0.3
    content = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    style = torch.rand(1, 3, 12, 12, dtype=torch.float64)

    def feats(x):
        h1 = F.relu(F.conv2d(x, w1, padding=1))
        h2 = F.relu(F.conv2d(h1, w2, padding=1))
        return h1, h2

    with torch.no_grad():
        c2 = feats(content)[1]
        s1, s2 = (gram(h) for h in feats(style))

    def objective(x):
        h1, h2 = feats(x)
        style_l = ((gram(h1) - s1) ** 2).mean() * 100 + ((gram(h2) - s2) ** 2).mean() * 50
        return F.mse_loss(h2, c2) + style_l + 0.1 * tv(x)

    out = run_lbfgs("style", content, objective, max_iter=5, history_size=4,
                    line_search_fn="strong_wolfe")
    golden.save("lbfgs_style", dict(out, w1=w1, w2=w2, content=content, style=style), seed=9,
                max_iter=5, history_size=4)


def main():
    losses_case()
    quadratic_cases()
    style_case()


if __name__ == "__main__":
    main()
