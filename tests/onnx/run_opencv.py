"""Runs an ONNX file in OpenCV's DNN module (an ONNX runtime independent of convkit) after
onnx.checker validates it: tests/test_onnx_export.cpp checks convkit's exports this way.

Usage: /usr/bin/python3 tests/onnx/run_opencv.py MODEL.onnx INPUT.safetensors OUTPUT.safetensors ...
(any number of triples, so that one Python start serves a whole test). INPUT holds the tensor
"input"; OUTPUT receives OpenCV's result as "output".
"""
import json
import struct
import sys

import cv2
import numpy as np
import onnx

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype=_DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        raw = np.ascontiguousarray(t, dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run(model_path, in_path, out_path):
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    x = read_safetensors(in_path)["input"]
    net = cv2.dnn.readNetFromONNX(model_path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(x)
    write_safetensors(out_path, {"output": net.forward()})


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3:
        sys.exit("usage: run_opencv.py MODEL.onnx INPUT.safetensors OUTPUT.safetensors ...")
    for k in range(0, len(args), 3):
        run(*args[k:k + 3])


if __name__ == "__main__":
    main()
