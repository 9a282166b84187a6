"""Golden for tests/test_trainer.cpp (GoogLeNetAuxLossMatchesTorchvision), written at test time.

torchvision's GoogLeNet(aux_logits=True), dropout off, seeded weights; one training-mode forward on
a fixed batch with the loss of torchvision's references/classification/train.py:
    loss = CE(main) + 0.3 * CE(aux1) + 0.3 * CE(aux2)
Writes <out>: state.<key> (the state dict before the step), input, labels, loss, main_loss, three
gradients grad.<param> (float64 run) with tol_grad.<param> metadata, and eval_loss (eval mode, after the training forward updated the BN stats).
Usage: python3 gen_googlenet_aux.py OUT.safetensors
"""
import copy
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

SEED = 7


def main():
    out = os.path.abspath(sys.argv[1])
    torch.manual_seed(SEED)
    m = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True,
                                     num_classes=10, dropout=0.0, dropout_aux=0.0)
    state = {"state." + k: v.clone() for k, v in m.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    x = torch.randn(2, 3, 48, 48)
    labels = torch.tensor([3, 7])
    m64 = copy.deepcopy(m).double()

    def step(model, xx):
        model.train()
        o = model(xx)
        main_loss = F.cross_entropy(o.logits, labels)
        loss = main_loss + 0.3 * F.cross_entropy(o.aux_logits1, labels) + \
            0.3 * F.cross_entropy(o.aux_logits2, labels)
        loss.backward()
        return main_loss, loss

    main_loss, loss = step(m, x)
    step(m64, x.double())
    mods, mods64 = dict(m.named_modules()), dict(m64.named_modules())
    tensors, meta = dict(state), {}
    for p in ("conv1.conv.weight", "aux1.fc2.weight", "aux2.conv.conv.weight"):
        mod, name = p.rsplit(".", 1)
        g32, g64 = getattr(mods[mod], name).grad, getattr(mods64[mod], name).grad
        tensors["grad." + p] = g64.float()
        # What float32 can achieve here: 4x PyTorch's own float32 error (as tests/onnx/gen_onnx.py).
        rel = ((g32.double() - g64).abs().max() / g64.abs().max()).item()
        meta["tol_grad." + p] = repr(max(1e-4, 4 * rel))
    m.eval()
    with torch.no_grad():
        eval_loss = F.cross_entropy(m(x), labels)
    tensors.update({"input": x, "labels": labels, "loss": loss.detach().reshape([]),
                    "main_loss": main_loss.detach().reshape([]),
                    "eval_loss": eval_loss.reshape([])})
    golden.DATA_DIR = os.path.dirname(out)
    name = os.path.basename(out)[:-len(".safetensors")]
    tmp = golden.save(name + ".tmp", tensors, SEED, **meta)
    os.replace(tmp, out)  # a reader never sees a half-written file


if __name__ == "__main__":
    main()
