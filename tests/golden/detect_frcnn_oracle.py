#!/usr/bin/env python3
"""torchvision 0.14's Faster R-CNN pieces on given numbers, for tests/test_detect_frcnn.cpp.

usage: detect_frcnn_oracle.py IN.json OUT.json

IN: {image: [H, W], sizes, ratios, features: flat [N*F*h*w], feature_shape [N, F, h, w],
rpn: {conv.weight, conv.bias, cls_logits.weight, ..., flat}, rpn_options: {pre, post, nms,
min_size, score}, targets: [{boxes: [[x1, y1, x2, y2]], labels: [..]}] (labels 0-based),
match_iou: flat [G*P], match_shape [G, P], roi: {fc6.weight, ..., flat}, representation, pool,
num_classes, proposals: [[[x1, y1, x2, y2], ...] per image], roi_options: {score, nms, per_image}}.

OUT: anchors (flat), matches, rpn_boxes (per image, flat), rpn_scores, rpn_objectness_loss,
rpn_box_loss, roi_classifier_loss, roi_box_loss, detections [{boxes, scores, labels}] (labels
0-based). Every sampler is given a batch larger than the candidates, so nothing is drawn at
random and both sides use the same samples.
"""
import json
import sys
from collections import OrderedDict

import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import (RegionProposalNetwork, RPNHead,
                                              concat_box_prediction_layers)
from torchvision.ops import MultiScaleRoIAlign

ALL = 1_000_000  # a sampler batch above any candidate count: every candidate is taken


def load(module, flat, shapes_from):
    """convkit's names are torchvision's, but for RPNHead's conv (conv.0.0 since 0.13)."""
    state = OrderedDict()
    for name, t in shapes_from.state_dict().items():
        key = name.replace("conv.0.0.", "conv.")
        state[name] = torch.tensor(flat[key], dtype=torch.float32).reshape(t.shape)
    module.load_state_dict(state)


def main():
    c = json.load(open(sys.argv[1]))
    H, W = c["image"]
    N, F, h, w = c["feature_shape"]
    feats = torch.tensor(c["features"], dtype=torch.float32).reshape(N, F, h, w)
    images = ImageList(torch.zeros(N, 3, H, W), [(H, W)] * N)
    targets = [{"boxes": torch.tensor(t["boxes"], dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(t["labels"], dtype=torch.int64) + 1} for t in c["targets"]]
    out = {}

    gen = AnchorGenerator(sizes=(tuple(c["sizes"]),), aspect_ratios=(tuple(c["ratios"]),))
    anchors = gen(images, [feats])
    out["anchors"] = anchors[0].flatten().tolist()

    iou = torch.tensor(c["match_iou"], dtype=torch.float32).reshape(c["match_shape"])
    out["matches"] = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)(iou).tolist()

    head = RPNHead(F, len(c["sizes"]) * len(c["ratios"]))
    load(head, c["rpn"], head)
    o = c["rpn_options"]
    rpn = RegionProposalNetwork(gen, head, 0.7, 0.3, ALL, 0.5,
                                {"training": o["pre"], "testing": o["pre"]},
                                {"training": o["post"], "testing": o["post"]}, o["nms"],
                                o["score"])
    rpn.min_size = o["min_size"]
    rpn.train()
    boxes, losses = rpn(images, OrderedDict([("0", feats)]), targets)
    out["rpn_boxes"] = [b.detach().flatten().tolist() for b in boxes]
    out["rpn_objectness_loss"] = losses["loss_objectness"].item()
    out["rpn_box_loss"] = losses["loss_rpn_box_reg"].item()
    # The scores filter_proposals kept beside the boxes.
    objectness, deltas = head([feats])
    num = [x[0].shape[0] * x[0].shape[1] * x[0].shape[2] for x in objectness]
    objectness, deltas = concat_box_prediction_layers(objectness, deltas)
    props = rpn.box_coder.decode(deltas.detach(), anchors).view(N, -1, 4)
    _, scores = rpn.filter_proposals(props, objectness, images.image_sizes, num)
    out["rpn_scores"] = [s.tolist() for s in scores]

    C, rep, pool = c["num_classes"], c["representation"], c["pool"]
    box_head = TwoMLPHead(F * pool * pool, rep)
    predictor = FastRCNNPredictor(rep, C + 1)
    flat = c["roi"]
    load(box_head, flat, box_head)  # fc6, fc7
    load(predictor, flat, predictor)  # cls_score, bbox_pred
    r = c["roi_options"]
    heads = RoIHeads(MultiScaleRoIAlign(["0"], pool, 2), box_head, predictor, 0.5, 0.5, ALL, 0.25,
                     None, r["score"], r["nms"], r["per_image"])
    proposals = [torch.tensor(p, dtype=torch.float32).reshape(-1, 4) for p in c["proposals"]]
    heads.train()
    _, losses = heads(OrderedDict([("0", feats)]), [p.clone() for p in proposals],
                      images.image_sizes, targets)
    out["roi_classifier_loss"] = losses["loss_classifier"].item()
    out["roi_box_loss"] = losses["loss_box_reg"].item()
    heads.eval()
    with torch.no_grad():
        dets, _ = heads(OrderedDict([("0", feats)]), proposals, images.image_sizes)
    out["detections"] = [{"boxes": d["boxes"].flatten().tolist(), "scores": d["scores"].tolist(),
                          "labels": (d["labels"] - 1).tolist()} for d in dets]
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
