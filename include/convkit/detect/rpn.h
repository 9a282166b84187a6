#pragma once
// The region-proposal network of Faster R-CNN (Ren et al. 2015, section 3.1), as torchvision's
// detection/rpn.py on one feature map: A = |sizes| x |ratios| anchors at every feature position, a
// 3x3 conv + ReLU then two 1x1 convs for A objectness logits and 4A box deltas, anchors labelled by
// IoU with the ground truth, a balanced sample of them in the loss, and proposals by decoding,
// top-N by score, clipping, NMS and top-N again. tests/test_detect_frcnn.cpp checks anchors,
// matching, the loss and the proposals against torchvision 0.14 on the same numbers.
#include <cstdint>
#include <memory>
#include <vector>

#include "convkit/detect/boxes.h"
#include "convkit/nn/layers.h"
#include "convkit/random.h"
#include "convkit/tensor.h"

namespace convkit::detect {

struct AnchorGridConfig {
  std::vector<float> sizes{16, 32, 64};       // sqrt of the anchor area, input pixels
  std::vector<float> ratios{0.5f, 1.f, 2.f};  // height / width
  int64_t stride = 8;                         // input pixels per feature pixel
  int64_t per_position() const { return int64_t(sizes.size() * ratios.size()); }
};
// Throws naming the field when a size, ratio or the stride is not positive and finite.
void check_anchor_config(const AnchorGridConfig& c);

// The A anchors centred on (0, 0), [A, 4] xyxy, ratio-major (torchvision's order): for ratio r and
// size s, h = s sqrt(r), w = s / sqrt(r), rounded as round([-w, -h, w, h] / 2).
Tensor base_anchors(const AnchorGridConfig& c);
// Every anchor of an H x W feature map, [H W A, 4]: base anchor a shifted by (j stride, i stride);
// row ((i W + j) A + a), the order of the head's outputs below.
Tensor grid_anchors(const AnchorGridConfig& c, int64_t H, int64_t W);

// Matching predictions to ground truth by IoU (torchvision's det_utils.Matcher). iou: [G, P].
// Each prediction takes the ground truth of its highest IoU (the first on ties); below `low` it
// becomes kBelowLow, in [low, high) kBetween. With allow_low_quality, every prediction that has
// some ground truth's highest IoU with any prediction keeps its argmax match whatever the
// thresholds (Faster R-CNN's "anchor with the highest IoU" rule). G = 0: every prediction is
// kBelowLow.
inline constexpr int64_t kBelowLow = -1, kBetween = -2;
std::vector<int64_t> match_boxes(const Tensor& iou, int64_t num_predictions, double high,
                                 double low, bool allow_low_quality);

// A balanced sample (torchvision's BalancedPositiveNegativeSampler): of labels (> 0 positive, 0
// negative, < 0 ignored), at most floor(batch * positive_fraction) positives and the rest of
// `batch` negatives, each drawn uniformly without replacement by `gen`. Returns the chosen
// indices, positives first, each group increasing. When a group has no more than its quota, all
// of it is taken (no draw).
struct BalancedSample {
  std::vector<int64_t> positive, negative;
};
BalancedSample sample_balanced(const std::vector<int64_t>& labels, int64_t batch,
                               double positive_fraction, Generator& gen);

// The RPN head: conv 3x3 (C -> C, padding 1) + ReLU, then cls_logits 1x1 (C -> A) and bbox_pred
// 1x1 (C -> 4A), weights N(0, 0.01), biases 0 (torchvision's RPNHead; its parameter names).
class RpnHead : public nn::Module {
 public:
  RpnHead(int64_t channels, int64_t anchors_per_position);
  struct Output {
    Tensor objectness;  // [N, H W A] logits, rows in grid_anchors' order
    Tensor deltas;      // [N H W A, 4] (dx, dy, dw, dh) against the anchors
  };
  Output run(const Tensor& features);
  std::shared_ptr<nn::Conv2d> conv, cls_logits, bbox_pred;
  int64_t anchors_per_position;
};

struct RpnOptions {
  double fg_iou = 0.7, bg_iou = 0.3;  // anchor labels: >= fg positive, < bg negative
  int64_t batch_per_image = 256;      // anchors in the loss per image
  double positive_fraction = 0.5;
  int64_t pre_nms_top_n = 2000, post_nms_top_n = 2000;  // proposals per image
  double nms_iou = 0.7;
  double score_threshold = 0.0;  // on sigmoid(objectness)
  double min_size = 1e-3;        // proposals narrower or lower than this are dropped
};

// Ground truth of one image: boxes [G, 4] xyxy input pixels, labels in [0, C).
struct ImageTargets {
  std::vector<Box> boxes;
  std::vector<int64_t> labels;
};
// From a batch's padded targets (data/detection.h): boxes [N, M, 4], labels [N, M] int64, -1 for
// padding. Throws naming the image and object for a box without positive width and height.
std::vector<ImageTargets> image_targets(const Tensor& boxes, const Tensor& labels);

struct RpnLosses {
  Tensor objectness;  // BCE with logits, mean over the sampled anchors
  Tensor box;         // smooth L1 (beta 1/9) over the sampled positives, summed / sampled count
};
// The RPN's loss: anchors matched with (fg_iou, bg_iou, allow_low_quality), a balanced sample per
// image, box targets by BoxCoder with weights (1, 1, 1, 1). Gradients to objectness and deltas.
// Zero losses (with zero gradients) when no anchor is sampled.
RpnLosses rpn_loss(const RpnHead::Output& out, const Tensor& anchors,
                   const std::vector<ImageTargets>& targets, const RpnOptions& o, Generator& gen);

// Proposals per image (no gradient): every anchor decoded by its deltas, the pre_nms_top_n by
// objectness, clipped to the image, non-finite ones, small boxes and those under score_threshold
// dropped, NMS at
// nms_iou, then the post_nms_top_n best. boxes [P, 4] and scores [P] (sigmoid), by decreasing
// score.
struct Proposals {
  Tensor boxes, scores;
};
std::vector<Proposals> rpn_proposals(const RpnHead::Output& out, const Tensor& anchors,
                                     int64_t image_h, int64_t image_w, const RpnOptions& o);

}  // namespace convkit::detect
