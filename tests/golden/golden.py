"""Shared writer for golden files: safetensors written by hand from PyTorch tensors.

Debian 12 has no python3-safetensors, and the format is simple: an 8-byte little-endian header
length, a JSON header, then raw little-endian bytes. Each gen_*.py script calls save().
Run all of them with: /usr/bin/python3 tests/golden/generate.py
"""
import json
import os
import struct

import torch

FORMAT_VERSION = "1"
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8"}


def save(name, tensors, seed, **meta):
    """Writes tests/golden/data/<name>.safetensors with format/torch version and seed metadata."""
    os.makedirs(DATA_DIR, exist_ok=True)
    header, blobs, offset = {}, [], 0
    metadata = {"format_version": FORMAT_VERSION, "torch_version": torch.__version__,
                "seed": str(seed), "generator": name}
    metadata.update({k: str(v) for k, v in meta.items()})
    header["__metadata__"] = metadata
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[key] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path = os.path.join(DATA_DIR, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return path
