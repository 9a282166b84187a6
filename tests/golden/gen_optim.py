"""Golden files for optimizer steps and LR schedules (torch.optim, torch.optim.lr_scheduler)."""
import torch

import golden

SEED = 11
STEPS = 5


def optimizer_case(name, make):
    torch.manual_seed(SEED)
    p0 = torch.randn(3, 4, dtype=torch.float64)
    grads = torch.randn(STEPS, 3, 4, dtype=torch.float64)
    p = p0.clone().requires_grad_(True)
    opt = make([p])
    for k in range(STEPS):
        p.grad = grads[k].clone()
        opt.step()
    golden.save("optim_" + name, {"p0": p0, "grads": grads, "p_final": p.detach()}, seed=SEED)


def schedule_lrs(make, n=40):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64)


def plateau_lrs():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2,
                                                       cooldown=1, min_lr=0.01)
    metrics = torch.tensor([1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8,
                            0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8], dtype=torch.float64)
    lrs = []
    for m in metrics:
        sched.step(float(m))
        lrs.append(opt.param_groups[0]["lr"])
    return metrics, torch.tensor(lrs, dtype=torch.float64)


def main():
    S = torch.optim
    optimizer_case("sgd_plain", lambda ps: S.SGD(ps, lr=0.1))
    optimizer_case("sgd_momentum_wd", lambda ps: S.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4))
    optimizer_case("sgd_nesterov", lambda ps: S.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3))
    optimizer_case("sgd_dampening", lambda ps: S.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3))
    optimizer_case("adam", lambda ps: S.Adam(ps, lr=0.01))
    optimizer_case("adam_wd", lambda ps: S.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1))
    optimizer_case("adamw", lambda ps: S.AdamW(ps, lr=0.01, weight_decay=0.1))

    L = torch.optim.lr_scheduler
    curves = {
        "step": schedule_lrs(lambda o: L.StepLR(o, step_size=7, gamma=0.5)),
        "multistep": schedule_lrs(lambda o: L.MultiStepLR(o, milestones=[5, 12, 30], gamma=0.2)),
        "exponential": schedule_lrs(lambda o: L.ExponentialLR(o, gamma=0.93)),
        "cosine": schedule_lrs(lambda o: L.CosineAnnealingLR(o, T_max=40, eta_min=0.001)),
        "warmup_cosine": schedule_lrs(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                                                   L.CosineAnnealingLR(o, T_max=35)], milestones=[5])),
    }
    metrics, plateau = plateau_lrs()
    curves["plateau_metrics"] = metrics
    curves["plateau"] = plateau
    golden.save("schedules", curves, seed=0)


if __name__ == "__main__":
    main()
