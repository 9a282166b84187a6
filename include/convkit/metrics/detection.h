#pragma once
// Detection metrics: average precision per class and its mean, in the two standard definitions.
//
//  - VOC (Everingham et al. 2010, the VOC2010+ devkit's VOCap / voc_eval.py): per class,
//    detections by decreasing score are matched greedily to the unmatched ground-truth box of the
//    same image with the largest IoU, a match when IoU > iou_threshold (0.5); a detection matching
//    a "difficult" box counts neither way. AP is the area under the precision envelope sampled at
//    every recall step ("all-point interpolation"): with rec = [0, r..., 1], prec = [0, p..., 0]
//    made non-increasing from the right, AP = sum (rec[i+1] - rec[i]) * prec[i+1].
//  - COCO (pycocotools' COCOeval for bbox, area "all", maxDets 100): per image and class the top
//    100 detections are matched greedily to ground truth at IoU >= t for t = 0.50, 0.55, ..., 0.95;
//    AP at each t is the precision envelope read at 101 recall points 0, 0.01, ..., 1 (the first
//    point reaching each recall), averaged; mAP@[.5:.95] averages over the ten thresholds.
// Both: a class with no ground-truth box has no AP and is left out of the mean; its detections
// still count as false positives for no one. Equal scores keep their input order (a stable sort).
// IoU is computed in double on continuous coordinates (width = x2 - x1, no VOC "+1" pixel), as
// everywhere in convkit.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/detect/boxes.h"

namespace convkit::metrics {

struct Detection {
  int64_t image = 0;  // which image (any id, equal ids = same image)
  int64_t label = 0;  // class in [0, num_classes)
  float score = 0;
  detect::Box box;
};

struct GroundTruth {
  int64_t image = 0;
  int64_t label = 0;
  detect::Box box;
  bool difficult = false;  // VOC: neither rewarded nor penalised; COCO: ignored the same way
};

struct PrPoint {
  double recall = 0, precision = 0;
};

struct ClassAP {
  int64_t label = 0;
  int64_t num_ground_truth = 0;  // non-difficult boxes
  int64_t num_detections = 0;
  double ap = 0;  // 0 when num_ground_truth == 0 (then not in the mean)
  // VOC: the raw precision/recall after each detection by decreasing score (for the P-R curve).
  std::vector<PrPoint> curve;
};

struct DetectionReport {
  double map = 0;                  // mean AP over classes with ground truth
  std::vector<ClassAP> per_class;  // one per class, index = label
  // COCO only: AP at IoU 0.50 and 0.75 (mean over classes), as pycocotools prints them.
  double map50 = 0, map75 = 0;
  // Multi-line table: class, name (when given), #gt, #det, AP; then the mean.
  std::string to_string(const std::vector<std::string>& class_names = {}) const;
};

// VOC mAP at iou_threshold (0.5 for "mAP@0.5"). Throws naming the entry when a label is outside
// [0, num_classes), a score is not finite or a box is invalid (x2 < x1, y2 < y1).
DetectionReport voc_map(const std::vector<Detection>& detections,
                        const std::vector<GroundTruth>& ground_truth, int64_t num_classes,
                        double iou_threshold = 0.5);

// COCO mAP@[.5:.95]; per_class[c].ap is class c's AP averaged over the ten thresholds, its curve
// empty. Throws as voc_map, and on max_detections < 1.
DetectionReport coco_map(const std::vector<Detection>& detections,
                         const std::vector<GroundTruth>& ground_truth, int64_t num_classes,
                         int64_t max_detections = 100);

}  // namespace convkit::metrics
