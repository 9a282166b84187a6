#!/usr/bin/env python3
"""Independent reference for include/convkit/metrics/detection.h (tests/test_detect_map.cpp).

usage: detect_map_reference.py IN.json OUT.json

IN: {"num_classes": C, "detections": [[image, label, score, x1, y1, x2, y2], ...],
     "ground_truth": [[image, label, x1, y1, x2, y2, difficult], ...]}
OUT: {"voc": [AP per class or null], "voc_map": m, "coco": [AP per class or null], "coco_map": m,
      "coco_map50": m, "coco_map75": m}

Written from the published definitions, not from the C++ code: the VOC devkit's voc_eval.py
(greedy matching by decreasing confidence, IoU > 0.5, difficult boxes ignored, all-point
interpolated AP via the precision envelope) and pycocotools' COCOeval.evaluateImg/accumulate
(per image the top maxDets detections by score, greedy matching at IoU >= t, ignored boxes last,
101 recall thresholds from np.linspace, t in np.linspace(.5, .95, 10)). pycocotools itself is not
installable here (no PyPI). Differences from those files, shared with convkit on purpose:
continuous coordinates (no "+1" pixel), stable sorts (mergesort) for equal scores, "difficult"
boxes are COCO's ignored boxes with ordinary IoU.
"""
import json
import sys

import numpy as np


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def voc_class(dets, gts, c, thr=0.5):
    recs = {}
    npos = 0
    for g in gts:
        if g[1] == c:
            recs.setdefault(g[0], []).append(g)
            npos += 0 if g[6] else 1
    if npos == 0:
        return None
    found = {k: [False] * len(v) for k, v in recs.items()}
    cd = [d for d in dets if d[1] == c]
    order = np.argsort([-d[2] for d in cd], kind="mergesort")
    tp = np.zeros(len(cd))
    fp = np.zeros(len(cd))
    for k, di in enumerate(order):
        d = cd[di]
        ovmax, jmax = -np.inf, -1
        for j, g in enumerate(recs.get(d[0], [])):
            o = iou(d[3:7], g[2:6])
            if o > ovmax:
                ovmax, jmax = o, j
        if ovmax > thr:
            g = recs[d[0]][jmax]
            if not g[6]:
                if not found[d[0]][jmax]:
                    tp[k] = 1
                    found[d[0]][jmax] = True
                else:
                    fp[k] = 1
        else:
            fp[k] = 1
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec)


def coco_eval_img(dts, gts, t):
    """COCOeval.evaluateImg for one image, one class, one threshold: (scores, matched, ignored)."""
    gts = sorted(gts, key=lambda g: g[6], reverse=False)  # stable: regular first, ignored last
    gt_ig = [bool(g[6]) for g in gts]
    gtm = [False] * len(gts)
    out = []
    for d in dts:
        best, m = min(t, 1 - 1e-10), -1
        for gi, g in enumerate(gts):
            if gtm[gi]:
                continue
            if m > -1 and not gt_ig[m] and gt_ig[gi]:
                break
            o = iou(d[3:7], g[2:6])
            if o < best:
                continue
            best, m = o, gi
        if m > -1:
            gtm[m] = True
        out.append((d[2], m > -1, m > -1 and gt_ig[m]))
    return out


def coco_class(dets, gts, c, max_dets=100):
    images = sorted({g[0] for g in gts if g[1] == c} | {d[0] for d in dets if d[1] == c})
    npig = sum(1 for g in gts if g[1] == c and not g[6])
    if npig == 0:
        return None
    aps = []
    for t in np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1):
        scored = []
        for img in images:
            cd = [d for d in dets if d[1] == c and d[0] == img]
            cd = [cd[i] for i in np.argsort([-d[2] for d in cd], kind="mergesort")][:max_dets]
            cg = [g for g in gts if g[1] == c and g[0] == img]
            scored += coco_eval_img(cd, cg, t)
        order = np.argsort([-s[0] for s in scored], kind="mergesort")
        matched = np.array([scored[i][1] for i in order], dtype=bool)
        ignored = np.array([scored[i][2] for i in order], dtype=bool)
        tps = np.cumsum(np.logical_and(matched, ~ignored)).astype(float)
        fps = np.cumsum(np.logical_and(~matched, ~ignored)).astype(float)
        rc = tps / npig
        pr = (tps / (fps + tps + np.spacing(1))).tolist()
        for i in range(len(pr) - 1, 0, -1):
            if pr[i] > pr[i - 1]:
                pr[i - 1] = pr[i]
        rec_thrs = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
        q = np.zeros(len(rec_thrs))
        inds = np.searchsorted(rc, rec_thrs, side="left")
        try:
            for ri, pi in enumerate(inds):
                q[ri] = pr[pi]
        except IndexError:
            pass
        aps.append(q)
    return np.array(aps)  # [T, R]


def main():
    cfg = json.load(open(sys.argv[1]))
    dets, gts, nc = cfg["detections"], cfg["ground_truth"], cfg["num_classes"]
    voc = [voc_class(dets, gts, c) for c in range(nc)]
    coco = [coco_class(dets, gts, c) for c in range(nc)]
    have = [q for q in coco if q is not None]
    out = {
        "voc": voc,
        "voc_map": float(np.mean([a for a in voc if a is not None])) if have else 0.0,
        "coco": [None if q is None else float(q.mean()) for q in coco],
        "coco_map": float(np.mean(np.stack(have))) if have else 0.0,
        "coco_map50": float(np.mean([q[0].mean() for q in have])) if have else 0.0,
        "coco_map75": float(np.mean([q[5].mean() for q in have])) if have else 0.0,
    }
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
