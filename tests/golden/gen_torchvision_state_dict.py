"""Writes a torchvision model's freshly initialized state dict as a safetensors file, with
torchvision's names, for the fine-tuning tests (tests/test_transfer_cli.cpp).

    python3 tests/golden/gen_torchvision_state_dict.py resnet18 SEED OUT.safetensors

Written by hand (an 8-byte little-endian header length, the JSON header, the raw tensors) because
Debian has no python3-safetensors.
"""
import json
import os
import struct
import sys

import torch
import torchvision

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def main(name, seed, out):
    torch.manual_seed(int(seed))
    state = getattr(torchvision.models, name)(weights=None).state_dict()
    header, blobs, offset = {}, [], 0
    for key, t in state.items():
        data = t.contiguous().numpy().tobytes()
        header[key] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": f"torchvision {torchvision.__version__} {name}",
                              "seed": str(seed)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = out + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, out)  # atomic: parallel test processes never see half a file


if __name__ == "__main__":
    main(*sys.argv[1:])
