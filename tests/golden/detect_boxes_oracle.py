#!/usr/bin/env python3
"""torchvision.ops answers for tests/test_detect_boxes.cpp.

usage: detect_boxes_oracle.py IN.json OUT.json

IN holds a list of cases {boxes [[x1,y1,x2,y2]...], boxes2, scores, classes, iou_threshold}
written by the C++ test; OUT gets, per case, what torchvision 0.14 computes on the same float32
values: box_iou, generalized_box_iou, box_area, nms, batched_nms, box_convert to xywh and cxcywh,
and the detection BoxCoder's encode/decode (weights 10, 10, 5, 5) of boxes2 against boxes when both
have positive sizes. NaN (the IoU of two zero-area boxes) is written as null.
"""
import json
import math
import sys

import torch
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import (batched_nms, box_area, box_convert, box_iou, generalized_box_iou,
                             nms)


def rows(t):
    return [[None if math.isnan(v) else v for v in r] for r in t.tolist()]


def main():
    cases = json.load(open(sys.argv[1]))
    out = []
    for c in cases:
        b = torch.tensor(c["boxes"], dtype=torch.float32).reshape(-1, 4)
        b2 = torch.tensor(c["boxes2"], dtype=torch.float32).reshape(-1, 4)
        s = torch.tensor(c["scores"], dtype=torch.float32)
        cls = torch.tensor(c["classes"], dtype=torch.int64)
        t = c["iou_threshold"]
        r = {
            "iou": rows(box_iou(b, b2)),
            "giou": rows(generalized_box_iou(b, b2)),
            "area": box_area(b).tolist(),
            "nms": nms(b, s, t).tolist(),
            "batched_nms": batched_nms(b, s, cls, t).tolist(),
            "xywh": box_convert(b, "xyxy", "xywh").tolist(),
            "cxcywh": box_convert(b, "xyxy", "cxcywh").tolist(),
        }
        positive = lambda x: bool(((x[:, 2] > x[:, 0]) & (x[:, 3] > x[:, 1])).all())
        if len(b) == len(b2) and len(b) > 0 and positive(b) and positive(b2):
            coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
            deltas = coder.encode_single(b2, b)
            r["encode"] = deltas.tolist()
            r["decode"] = coder.decode_single(deltas, b).tolist()
        out.append(r)
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
