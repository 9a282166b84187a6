"""Writes what `torch.save`-free torchvision users hand convkit: a resnet18 state dict (random
weights, 5 classes, non-trivial batch-norm statistics, num_batches_tracked included) as
safetensors, plus a batch of inputs and torchvision's logits for it. tests/test_infer.cpp loads the
state dict with infer::load_torchvision and compares.

Usage: /usr/bin/python3 tests/infer/torchvision_state_dict.py OUT_DIR
Writes OUT_DIR/resnet18.safetensors and OUT_DIR/io.safetensors ("input", "logits").
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        a = np.array(t, order="C")  # (ascontiguousarray would make a 0-d tensor 1-d)
        raw = a.tobytes()
        header[k] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                     "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(out):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=5)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(3)
    model.eval()
    write_safetensors(os.path.join(out, "resnet18.safetensors"),
                      {k: v.numpy() for k, v in model.state_dict().items()})
    x = torch.randn(1, 3, 32, 32)  # resnet18's smallest input: cheap under the sanitizers
    with torch.no_grad():
        logits = model(x)
    write_safetensors(os.path.join(out, "io.safetensors"),
                      {"input": x.numpy(), "logits": logits.numpy()})


if __name__ == "__main__":
    main(sys.argv[1])
