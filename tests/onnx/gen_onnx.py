"""ONNX golden cases for tests/test_onnx_import.cpp, written at test time into the build folder.

For each case: <out>/<case>.onnx exported by torch.onnx.export from an eval-mode model, and
<out>/<case>.safetensors with the input, PyTorch's eval output (float32), and one training-mode
step computed in float64 (dropout off, batch norm on batch statistics): its output, the upstream
gradient used (loss = sum(output * upstream)), the gradient of the first convolution's weight, the
first batch norm's running mean afterwards, and the eval output after one plain SGD step from
those gradients. Metadata names those parameters and gives, per result, the tolerance a float32
run is held to: max(1e-4, 4 x PyTorch's own float32 error; 16 x for the eval output after the
step). Cases with small weights also carry PyTorch's float32 state dict after the step
("state.<name>") and its eval output.

Usage: /usr/bin/python3 tests/onnx/gen_onnx.py --out DIR CASE [CASE ...]   (--list lists cases)
"""
import argparse
import copy
import io
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import golden  # noqa: E402

SEED = 20261207
FORMAT = "1"


class OpsOld(nn.Module):
    """Opset 9 forms: Clip/Pad/Dropout attributes, Softmax over dim 1 of a 4-D tensor."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fc1 = nn.Linear(8 * 2 * 2, 20)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(20, 5)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = F.avg_pool2d(x, 2)
        x = F.hardtanh(x, -0.5, 0.5)
        x = F.pad(x, (1, 0, 0, 1))
        x = torch.sigmoid(self.bn(self.conv2(x)))
        x = F.max_pool2d(x, 2)
        x = torch.softmax(x, dim=1) * 10
        x = x.view(x.size(0), -1)
        x = F.leaky_relu(self.fc1(x), 0.2)
        return F.log_softmax(self.fc2(self.drop(x)), dim=1)


class OpsMid(nn.Module):
    """Opset 11: ceil-mode and padded pools, ELU, ReLU6 as Clip with inputs, reflect pads,
    channel concat (torch computes the reflect pads with Shape, Slice with step -1, ...; its
    LocalResponseNorm exports as a decomposition with If, so LRN is tested on hand-built graphs), a
    learnable per-channel scale (Mul with a parameter), fresh batch norms that
    torch deduplicates into Identity nodes, nearest upsampling and a Shape->Gather->Reshape chain.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.bn2 = nn.BatchNorm2d(8)
        self.branch_a = nn.Conv2d(8, 4, 1)
        self.branch_b = nn.Conv2d(8, 4, 3, padding=1, groups=4)
        self.scale = nn.Parameter(torch.rand(1, 8, 1, 1) + 0.5)
        self.fc = nn.Linear(8 * 2 * 2, 6)
        self.proj = nn.Parameter(torch.randn(6, 4) * 0.3)

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        x = F.elu(self.bn2(x), 0.7)
        x = torch.cat([F.relu6(self.branch_a(x)), self.branch_b(F.pad(x, (1, 1, 1, 1), mode="reflect"))[:, :, 1:-1, 1:-1]], 1)
        x = x * self.scale + 0.25
        x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.max_pool2d(x, 4)
        x = x.reshape(x.shape[0], -1)
        x = self.fc(x)
        return torch.softmax(x @ self.proj, dim=1)


class OpsNew(nn.Module):
    """Opset 17: squeeze-and-excitation gating (ReduceMean, Sigmoid, Mul), Sub/Div, permute,
    Softmax over one axis of a 4-D tensor, dilated and asymmetric convolutions."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
        self.se1 = nn.Linear(8, 4)
        self.se2 = nn.Linear(4, 8)
        self.conv2 = nn.Conv2d(8, 8, (3, 1), stride=(2, 1), padding=(1, 0))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        s = x.mean((2, 3))
        s = torch.sigmoid(self.se2(F.relu(self.se1(s))))
        x = x * s.view(s.shape[0], s.shape[1], 1, 1)
        x = (x - 0.1) / 1.5
        x = self.conv2(x)
        x = torch.softmax(x, dim=1) + x.permute(0, 1, 3, 2).transpose(2, 3)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


# name -> (builder, input [N, C, H, W], opset, plain_bn, with_state). The training step uses the
#          same shape: some exports fix the batch size in Reshape shapes. AlexNet and VGG need 224 px: their adaptive pools export only when the
#          feature map is a multiple of 6 or 7.
CASES = {
    "ops_old": (OpsOld, (3, 3, 16, 16), 9, False, True),
    "ops_mid": (OpsMid, (3, 3, 16, 16), 11, True, True),
    "ops_new": (OpsNew, (2, 3, 12, 12), 17, False, True),
    "alexnet": (tv("alexnet"), (1, 3, 224, 224), 11, False, False),
    "googlenet": (tv("googlenet", init_weights=True), (2, 3, 64, 64), 12, False, True),
    "mobilenet_v2": (tv("mobilenet_v2"), (2, 3, 64, 64), 11, False, True),
}
for depth in (18, 34, 50, 101, 152):
    CASES[f"resnet{depth}"] = (tv(f"resnet{depth}"), (2, 3, 64, 64), 13 if depth != 50 else 17,
                               False, depth == 18)
for depth in (11, 13, 16, 19):
    for bn in ("", "_bn"):
        CASES[f"vgg{depth}{bn}"] = (tv(f"vgg{depth}{bn}"), (1, 3, 224, 224), 13, False, False)


def randomize_bn(model):
    """Non-trivial batch norm parameters and statistics, so that eval mode tests them."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def first_of(model, kind):
    for name, m in model.named_modules():
        if isinstance(m, kind):
            return name, m
    return None, None


def main_output(y):
    return y.logits if hasattr(y, "logits") else y


def training_forward(model, xt, upstream):
    """Training mode with dropout off (its masks cannot match); loss = sum(output * upstream)."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    y = main_output(model(xt))
    (y * upstream).sum().backward()
    return y.detach()


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-12)).item()


def generate(case, out):
    builder, shape, opset, plain_bn, with_state = CASES[case]
    torch.manual_seed(SEED)
    model = builder().eval()
    if not plain_bn:
        randomize_bn(model)
    x = torch.randn(shape)
    with torch.no_grad():
        y_eval = main_output(model(x))

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # PRESERVE keeps batch norm as its own node (EVAL would fold it into the convolution and
        # rename the weights); do_constant_folding=False keeps the initializers' names.
        torch.onnx.export(model, x, buf, opset_version=opset, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False, input_names=["input"], output_names=["output"])
    with open(os.path.join(out, case + ".onnx.tmp"), "wb") as f:
        f.write(buf.getvalue())

    # The training step runs in float64 (the reference) and float32. Training-mode batch norm
    # through dozens of layers loses digits: PyTorch's own float32 gradients of deep ResNets are
    # 1e-2 off the float64 ones, so float32 results are held to what PyTorch's float32 achieves.
    conv_name, _ = first_of(model, nn.Conv2d)
    bn_name, _ = first_of(model, nn.BatchNorm2d)
    xt = torch.randn(shape)
    m32, m64 = copy.deepcopy(model), copy.deepcopy(model).double()
    y32 = training_forward(m32, xt, upstream := torch.randn(y_eval.shape))
    y64 = training_forward(m64, xt.double(), upstream.double())
    # One SGD step scaled so that the largest weight moves by 1e-2 (the raw gradients of an
    # untrained net would blow its outputs up).
    lr = 1e-2 / max(p.grad.abs().max().item() for p in m64.parameters() if p.grad is not None)
    results = {}
    for tag, m, xx, y in (("f32", m32, x, y32), ("f64", m64, x.double(), y64)):
        mods = dict(m.named_modules())
        r = {"train_output": y, "train_grad": mods[conv_name].weight.grad.clone()}
        if bn_name is not None:
            r["train_running_mean"] = mods[bn_name].running_mean.clone()
        torch.optim.SGD(m.parameters(), lr=lr).step()
        m.eval()
        with torch.no_grad():
            r["eval_output_after_step"] = main_output(m(xx))
        results[tag] = r

    tensors = {"input": x, "eval_output": y_eval, "train_input": xt, "train_upstream": upstream,
               "eval_output_after_step_f32": results["f32"]["eval_output_after_step"]}
    meta = {"case": case, "opset": opset, "grad_param": conv_name + ".weight", "lr": repr(lr)}
    if bn_name is not None:
        meta["bn_param"] = bn_name + ".running_mean"
    # The eval output after the step compounds the float32 error of every gradient: a run whose
    # gradients are as good as PyTorch's still lands several times PyTorch's own error away
    # (VGG-13-BN: 5x), so that check gets a wider factor than the direct results.
    for k, v in results["f64"].items():
        tensors[k] = v
        factor = 16 if k == "eval_output_after_step" else 4
        meta["tol_" + k] = repr(max(1e-4, factor * rel(results["f32"][k], v)))
    meta["step_change"] = repr(rel(results["f64"]["eval_output_after_step"], y_eval))
    if with_state:
        # googlenet's auxiliary classifiers are not in the eval-mode graph.
        for k, v in m32.state_dict().items():
            if not k.startswith("aux"):
                tensors["state." + k] = v
    golden.DATA_DIR = out
    path = golden.save(case + ".tmp", tensors, SEED, **meta)
    # Rename last so that a reader never sees a half-written case.
    os.replace(os.path.join(out, case + ".onnx.tmp"), os.path.join(out, case + ".onnx"))
    os.replace(path, os.path.join(out, case + ".safetensors"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    for case in args.cases:
        if case not in CASES:
            sys.exit(f"gen_onnx.py: unknown case '{case}' (--list shows them)")
        generate(case, args.out)


if __name__ == "__main__":
    main()
