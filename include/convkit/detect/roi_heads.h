#pragma once
// The second stage of Faster R-CNN (Ren et al. 2015; Fast R-CNN, Girshick 2015), as torchvision's
// detection/roi_heads.py: proposals (plus the ground truth, in training) matched to the ground
// truth at IoU 0.5, a sample with a quarter positives, a fixed-size RoI Align of each, two fully
// connected layers, then class scores over C + 1 classes (0 is background, as torchvision) and a
// box per class. Boxes are encoded with weights (10, 10, 5, 5). tests/test_detect_frcnn.cpp checks
// the loss and the post-processing against torchvision 0.14 on the same numbers.
#include <cstdint>
#include <memory>
#include <vector>

#include "convkit/detect/rpn.h"
#include "convkit/metrics/detection.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/roi.h"

namespace convkit::detect {

struct RoiHeadsOptions {
  double fg_iou = 0.5, bg_iou = 0.5;  // proposals: >= fg positive, < bg background
  int64_t batch_per_image = 512;      // proposals in the loss per image
  double positive_fraction = 0.25;
  double score_threshold = 0.05;  // inference: class probability
  double nms_iou = 0.5;           // inference: per class
  int64_t detections_per_image = 100;
  double min_size = 1e-2;
};

// The sampled proposals of a batch with their targets, in image order.
struct RoiSamples {
  Tensor rois;         // [K, 5]: image index, x1, y1, x2, y2 (roi_align's rows)
  Tensor labels;       // int64 [K]: 0 background, c + 1 for class c
  Tensor box_targets;  // [K, 4] encoded against the proposal (zeros where no ground truth)
  std::vector<int64_t> per_image;  // rows per image
};
// torchvision's select_training_samples: per image, proposals [P, 4] followed by the ground-truth
// boxes, matched (fg_iou, bg_iou, no low-quality matches), balanced-sampled; the kept rows in
// increasing order. An image without ground truth gives background samples only.
RoiSamples sample_rois(const std::vector<Proposals>& proposals,
                       const std::vector<ImageTargets>& targets, const RoiHeadsOptions& o,
                       Generator& gen);

// RoI Align (7 x 7 by default, sampling ratio 2, not aligned: torchvision's MultiScaleRoIAlign on
// one map) then fc6, fc7 (ReLU each) and the predictor cls_score (-> C + 1), bbox_pred (-> 4 (C +
// 1)).
class BoxHead : public nn::Module {
 public:
  BoxHead(int64_t channels, int64_t num_classes, int64_t representation = 256,
          int64_t pool_size = 7);
  struct Output {
    Tensor class_logits;    // [K, C + 1]
    Tensor box_regression;  // [K, 4 (C + 1)]
  };
  // rois in input pixels; spatial_scale = 1 / stride.
  Output run(const Tensor& features, const Tensor& rois, double spatial_scale);
  std::shared_ptr<nn::Linear> fc6, fc7, cls_score, bbox_pred;
  int64_t num_classes, pool_size;
};

struct RoiLosses {
  Tensor classifier;  // cross-entropy, mean over samples
  Tensor box;         // smooth L1 (beta 1/9) of the positives' own-class box, summed / samples
};
RoiLosses roi_loss(const BoxHead::Output& out, const RoiSamples& samples);

// torchvision's postprocess_detections: per proposal and class c >= 1, the class probability and
// the box decoded from the class's deltas, clipped to the image; scores > score_threshold, boxes
// of side >= min_size, NMS per class, the detections_per_image best. Labels in the result are c - 1
// (the data's classes); Detection::image is the index in `proposals`.
std::vector<metrics::Detection> roi_detections(const BoxHead::Output& out,
                                               const std::vector<Proposals>& proposals,
                                               int64_t image_h, int64_t image_w,
                                               const RoiHeadsOptions& o);

}  // namespace convkit::detect
