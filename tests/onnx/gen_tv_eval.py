"""Eval-mode ONNX cases from torchvision builders, for tests/test_onnx_torchvision.cpp and the
full sweep (tests/onnx/tv_sweep.py).

A case is MODEL@OPSET[@SIZE] (SIZE: the square input side, 64 by default). For each, with random
weights (torch.manual_seed(SEED), weights=None) in eval mode:
  <out>/<case>.onnx         torch.onnx.export of the model on a [1, 3, SIZE, SIZE] input
  <out>/<case>.safetensors  `input`, PyTorch's float32 `output` for it and its float64
                            `output_f64` (the same weights and input in float64)
Batch norms get random scales and calibrated statistics, linear layers unit-scale weights
(nontrivial()).
Besides torchvision's builders, `pad_channel` is a tiny model that pads the channel axis
(F.pad over dim 1 in constant mode, then reflect and replicate pads of H and W).

Usage: /usr/bin/python3 tests/onnx/gen_tv_eval.py --out DIR CASE [CASE ...]
Prints one line per case: "<case> ok <seconds>" or "<case> export-failed <reason>"; with
--keep-going an export failure does not stop the others (exit 0).
"""
import argparse
import io
import os
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import golden  # noqa: E402

SEED = 20261206


class PadChannel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 4, 3)
        self.head = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        x = F.pad(x, (1, 1, 0, 2), mode="reflect")
        x = self.conv(F.pad(x, (0, 0, 0, 0, 1, 1), value=0.5))  # channel axis: 3 -> 5
        x = F.pad(x, (2, 0, 1, 1), mode="replicate")
        x = F.pad(x, (0, 0, 0, 0, 2, 0))  # 4 -> 6 channels
        return self.head(x)


def nontrivial(model, size):
    """Non-trivial eval-mode batch norms and unit-scale classifiers. torchvision's init leaves
    fresh batch norms as identities and classifiers at std 0.01, so some models' logits start
    near 1e-10 and others (Inception v3) near 1e12; an absolute tolerance on either proves
    nothing. Batch norm scales and shifts are random, and the running statistics are those of
    two random batches (as after a short training), so activations stay near unit scale."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, m.in_features ** -0.5)
        for m in bns:
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.1)
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the calibration batches
        if bns:
            model.train()
            for _ in range(2):
                model(torch.randn(4, 3, size, size))
    return model.eval()


def build(name):
    if name == "pad_channel":
        return PadChannel()
    # Inception v3 and GoogLeNet return auxiliary outputs in training mode only; aux off keeps
    # their eval graph the same.
    kw = {"aux_logits": False, "init_weights": True} if name in ("inception_v3", "googlenet") else {}
    return torchvision.models.get_model(name, weights=None, **kw)


def generate(case, out):
    parts = case.split("@")
    name, opset = parts[0], int(parts[1])
    size = int(parts[2]) if len(parts) > 2 else 64
    torch.manual_seed(SEED)
    model = nontrivial(build(name), size)
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        y = model(x)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, buf, opset_version=opset, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
    base = os.path.join(out, case)
    with open(base + ".onnx", "wb") as f:
        f.write(buf.getvalue())
    golden.DATA_DIR = out
    # PyTorch in float64 as well: the reference that shows how far float32 itself is from exact
    # (deep nets such as Inception v3 differ from it by more than 1e-4 in PyTorch too).
    with torch.no_grad():
        y64 = model.double()(x.double())
    path = golden.save(case + ".tmp", {"input": x, "output": y.float(), "output_f64": y64}, SEED,
                       model=name, opset=opset)
    os.replace(path, base + ".safetensors")  # last, so that a complete pair marks success


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for case in args.cases:
        t0 = time.time()
        try:
            generate(case, args.out)
            print(case, "ok", "%.1f" % (time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 (reported per case in the sweep's table)
            if not args.keep_going:
                raise
            print(case, "export-failed", str(e).splitlines()[0][:200] if str(e) else type(e).__name__,
                  flush=True)


if __name__ == "__main__":
    main()
