#!/usr/bin/env python3
"""Writes torchvision's ImageNet VGG-19 weights as a safetensors file for `convkit style --weights`.

  python3 scripts/convert_vgg19.py vgg19.safetensors                  # torchvision downloads them
  python3 scripts/convert_vgg19.py vgg19.safetensors vgg19-dcbb9e9d.pth   # a .pth fetched elsewhere

Only the convolutional trunk (features.*: 32 tensors, 20M parameters, 80 MB) is written; the names
are torchvision's, which convkit's VGG zoo uses too. Any other VGG (vgg16, vgg11, our own
checkpoints) works the same way: convkit reads features.<i>.weight/bias and infers the depth.
Self-contained (Debian 12 has no python3-safetensors): an 8-byte header length, a JSON header,
raw little-endian float32 bytes.
"""
import json
import struct
import sys

import torch
import torchvision


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    if len(sys.argv) == 3:
        state = torch.load(sys.argv[2], map_location="cpu")
    else:
        state = torchvision.models.vgg19(weights="IMAGENET1K_V1").state_dict()
    trunk = {k: v for k, v in state.items() if k.startswith("features.")}
    if "features.34.weight" not in trunk:
        sys.exit("not VGG-19 weights: features.34.weight is missing")
    save_safetensors(out, trunk, {"source": "torchvision vgg19 IMAGENET1K_V1",
                                  "torch_version": torch.__version__})
    print(f"wrote {out}: {len(trunk)} tensors")


if __name__ == "__main__":
    main()
