#pragma once
// A YOLO v2-style single-shot detector (Redmon & Farhadi 2017, "YOLO9000"): the input is covered
// by an S x S grid; each cell predicts B boxes, one per anchor shape (k-means, detect/anchors.h),
// each with 5 + C numbers: tx, ty, tw, th, objectness logit, C class logits.
//
// Output of the network: [N, B * (5 + C), S, S]; channel b * (5 + C) + k is number k of anchor b.
// A prediction at cell (row i, column j) with anchor (pw, ph), cell size c = image_size / S, is the
// box (section 2, "Direct location prediction"):
//   cx = (j + sigmoid(tx)) c    cy = (i + sigmoid(ty)) c    w = pw exp(tw)    h = ph exp(th)
// with confidence sigmoid(to) * softmax(class logits)[k] for class k.
#include <cstdint>
#include <memory>
#include <vector>

#include "convkit/detect/anchors.h"
#include "convkit/detect/backbone.h"
#include "convkit/metrics/detection.h"
#include "convkit/nn/layers.h"
#include "convkit/tensor.h"

namespace convkit::detect {

struct YoloConfig {
  int64_t image_size = 64;  // input height = width, pixels
  int64_t grid = 8;         // S; image_size / grid is the cell size in pixels (must divide)
  int64_t num_classes = 4;  // C
  std::vector<AnchorSize> anchors{{16, 16}};  // B anchor shapes in input pixels
  int64_t num_anchors() const { return int64_t(anchors.size()); }
  int64_t channels() const { return num_anchors() * (5 + num_classes); }
  double cell() const { return double(image_size) / double(grid); }
};
// Throws naming the field when the configuration is inconsistent.
void check_yolo_config(const YoloConfig& config);

// A small Darknet-style network (Darknet-19's pattern at toy size): blocks of 3x3 conv + batch norm
// + leaky ReLU(0.1), a 2x2 max pool after each of the first log2(image_size / grid) blocks,
// channels doubling from `width`, then a 1x1 conv to config.channels(). Input [N, 3, image_size,
// image_size], output [N, B (5 + C), S, S].
std::shared_ptr<nn::Sequential> make_yolo_darknet(const YoloConfig& config, int64_t width = 16);

// A YOLO network on any trunk (detect/backbone.h): the darknet spec gives make_yolo_darknet's
// network (its parameter names unchanged); a zoo trunk is followed by the 1x1 conv to
// config.channels() (children "0": the trunk, "1": the head).
std::shared_ptr<nn::Module> make_yolo(const YoloConfig& config, const BackboneSpec& backbone);

// Loss weights (the paper's lambda_coord = 5, lambda_noobj = 0.5 from YOLO v1, section 2.2).
struct YoloLossOptions {
  double lambda_coord = 5.0;
  double lambda_noobj = 0.5;
  // A prediction without an assigned object whose decoded box overlaps some ground truth of its
  // image by more than this IoU is not pushed towards "no object" (YOLO v2's thresh 0.6).
  double ignore_iou = 0.6;
};

// Per-prediction targets from padded ground truth (data/detection.h's DetectionDataset targets):
// boxes [N, M, 4] xyxy in input pixels, labels [N, M] int64 with -1 for padding. Each object goes
// to the cell holding its centre and to the anchor whose shape has the largest centred IoU with
// its own; tx* = cx / c - j, ty* = cy / c - i (targets of sigmoid(tx), sigmoid(ty)), tw* =
// log(w / pw), th* = log(h / ph). When two objects claim the same cell and anchor the later one
// wins. Rows are the predictions in the order [N, S, S, B] (R = N S S B rows).
struct YoloTargets {
  std::vector<int64_t> object_rows;   // rows with an object, increasing
  Tensor box;                         // float32 [K, 4]: tx*, ty*, tw*, th* of object_rows
  Tensor label;                       // int64 [K]
  std::vector<detect::Box> gt_boxes;  // every ground-truth box, xyxy input pixels
  std::vector<int64_t> gt_image;      // its image
};
// Throws naming the image and object when a box is invalid or its label outside [0, C).
YoloTargets build_yolo_targets(const YoloConfig& config, const Tensor& boxes, const Tensor& labels);

// The loss, summed over predictions and divided by N:
//   lambda_coord sum_obj [(sigmoid(tx) - tx*)^2 + (sigmoid(ty) - ty*)^2 + (tw - tw*)^2 + (th -
//   th*)^2]
//   + sum_obj BCE(to, 1) + lambda_noobj sum_noobj BCE(to, 0) + sum_obj CE(class logits, class)
// (objectness by binary cross-entropy on the logit, as YOLO v3, instead of v2's squared error).
// "noobj" is every prediction without an object whose decoded box has IoU <= ignore_iou with all
// the ground truth of its image. Gradients flow to `output` ([N, B (5 + C), S, S]) only.
Tensor yolo_loss(const Tensor& output, const YoloConfig& config, const YoloTargets& targets,
                 const YoloLossOptions& options = {});

// Boxes from the network output (no gradient): every prediction whose best class confidence is
// >= conf_threshold, then NMS per class at iou_threshold, per image. Detection::image is the row
// in the batch; boxes are clipped to the input. Throws when output's shape does not match config.
std::vector<metrics::Detection> yolo_decode(const Tensor& output, const YoloConfig& config,
                                            double conf_threshold, double iou_threshold);

}  // namespace convkit::detect
