"""Grad-CAM / Grad-CAM++ reference for tests/test_gradcam.cpp, written at test time.

A plain PyTorch implementation (no library): hook the layer, keep its output A, take G = dy_c/dA
for the class score y_c (the logit) with torch.autograd.grad, then
  Grad-CAM:   alpha_k = mean_ij G;                                   map = relu(sum_k alpha_k A_k)
  Grad-CAM++: a = G^2 / (2 G^2 + sum_ij(A_k) G^3) (0 where G == 0);
              alpha_k = sum_ij a relu(G);                            map = relu(sum_k alpha_k A_k)
in float64 from the float32 A and G, stored as float32 [N, h, w] before any upsampling.
The model is torchvision's with its default random init (seeded) and randomized batch-norm
statistics, in eval mode; its state dict is stored under "state.<name>" for convkit to load.
ResNet-18 is also exported by torch.onnx next to it (gradcam_resnet18.onnx, batch dynamic, batch
norm folded into the convolutions as torch.onnx does in eval mode): the default layer's map must
come out the same through convkit's ONNX importer. (VGG-16's adaptive pooling from 2x2 to 7x7 at
this input size has no ONNX export in torch 1.13.)

Usage: /usr/bin/python3 tests/golden/gen_gradcam.py --out DIR CASE   (CASE: resnet18, vgg16)
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 20261219
CLASS = 7  # the class explained (explicit: no dependence on an argmax near a tie)
# name -> (input [N, C, H, W], layers: the default CAM layer first, then one inside the network)
CASES = {
    "resnet18": ((2, 3, 96, 96), ["layer4", "layer3.1.conv2"]),
    "vgg16": ((1, 3, 64, 64), ["features", "features.28"]),
}


def maps(model, layer, x, method):
    kept = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(
        lambda m, i, o: kept.__setitem__("a", o))
    y = model(x)
    handle.remove()
    a = kept["a"]
    g = torch.autograd.grad(y[:, CLASS].sum(), a)[0].double()
    a = a.detach().double()
    if method == "gradcam":
        alpha = g.mean(dim=(2, 3))
    else:
        g2, g3 = g * g, g * g * g
        denom = 2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g3
        aij = torch.where((g != 0) & (denom != 0), g2 / torch.where(denom != 0, denom, 1.0), 0.0)
        alpha = (aij * g.clamp(min=0)).sum(dim=(2, 3))
    return torch.relu((alpha[:, :, None, None] * a).sum(dim=1)).float(), y.detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("case", choices=sorted(CASES))
    args = ap.parse_args()
    shape, layers = CASES[args.case]
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, args.case)(weights=None)
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False  # an in-place ReLU would overwrite the hooked conv output
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(shape)
    out = {"input": x}
    for k, v in model.state_dict().items():
        out["state." + k] = v
    for i, layer in enumerate(layers):
        for method in ("gradcam", "gradcam++"):
            m, y = maps(model, layer, x, method)
            out[f"map.{i}.{method}"] = m
    out["logits"] = y
    os.makedirs(args.out, exist_ok=True)
    if args.case == "resnet18":
        torch.onnx.export(model, x, os.path.join(args.out, "gradcam_" + args.case + ".onnx"),
                          opset_version=13, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    golden.DATA_DIR = args.out
    golden.save("gradcam_" + args.case, out, SEED, cls=CLASS, layers=",".join(layers))


if __name__ == "__main__":
    main()
