#pragma once
// Axis-aligned boxes and their math: formats, area, IoU, GIoU, greedy NMS (class-agnostic and per
// class) and soft-NMS. Coordinates are pixels, float32; a set of boxes is a Tensor [N, 4].
//
// The definitions are torchvision.ops' (box_convert, box_area, box_iou, generalized_box_iou, nms,
// batched_nms): width = x2 - x1 (no "+1" pixel convention), and the tests check the same kept
// indices on random sets with ties, empty sets and zero-area boxes. One deliberate difference: the
// IoU of two zero-area boxes (union 0) is 0 here, NaN in torchvision; NMS keeps the same boxes
// either way (a NaN overlap never suppresses).
//
// Nothing here records autograd: these are label-side and inference-side computations. The
// differentiable IoU terms of a loss live with that loss.
#include <cstdint>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::detect {

// xyxy: corners (x1, y1, x2, y2). xywh: top-left corner and size (x, y, w, h), as COCO's JSON.
// cxcywh: centre and size (cx, cy, w, h), as YOLO's labels.
enum class BoxFormat { xyxy, xywh, cxcywh };
const char* box_format_name(BoxFormat f);

// One box, xyxy. Valid when x1 <= x2 and y1 <= y2 (zero area allowed).
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return width() * height(); }
  bool operator==(const Box&) const = default;
};

// Intersection over union; 0 when the union is 0 (two zero-area boxes).
float iou(const Box& a, const Box& b);
// Generalized IoU (Rezatofighi et al. 2019): iou - (area(C) - union) / area(C), C the smallest box
// enclosing both; in [-1, 1]. 0 when C has zero area (torchvision: NaN whenever the union is 0).
float giou(const Box& a, const Box& b);

// Row i of boxes [N, 4] in xyxy as a Box, and back. to_boxes throws (naming `what`, the row and its
// values) on a non-finite coordinate or x2 < x1 or y2 < y1.
std::vector<Box> to_boxes(const Tensor& boxes, const char* what = "boxes");
Tensor to_tensor(const std::vector<Box>& boxes);  // [N, 4] f32

// [N, 4] from format `in` to `out`. Throws unless boxes is f32 [N, 4].
Tensor box_convert(const Tensor& boxes, BoxFormat in, BoxFormat out);
// [N]: (x2 - x1) * (y2 - y1) of xyxy boxes.
Tensor box_area(const Tensor& boxes);
// Pairwise IoU of xyxy boxes a [N, 4] and b [M, 4]: [N, M]. Throws on invalid boxes (to_boxes).
Tensor box_iou(const Tensor& a, const Tensor& b);
// Pairwise GIoU: [N, M], as box_iou.
Tensor generalized_box_iou(const Tensor& a, const Tensor& b);

// Greedy non-maximum suppression: visits boxes [N, 4] (xyxy) by decreasing score [N] (equal scores
// by increasing index) and drops every later box whose IoU with a kept one is > iou_threshold.
// Returns the kept indices, int64 [K], by decreasing score. Throws on mismatched shapes, invalid
// boxes, a non-finite score or a threshold outside [0, 1].
Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold);
// NMS within each class: boxes of different `classes` (int64 [N]) never suppress each other.
// Returns the kept indices by decreasing score (equal scores by increasing index).
Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                   double iou_threshold);

// Soft-NMS (Bodla et al. 2017, "Improving Object Detection With One Line of Code", Alg. 1): instead
// of dropping an overlapping box, decay its score, then drop boxes whose score falls below
// score_threshold.
//   linear:   s *= 1 - iou   when iou > iou_threshold
//   gaussian: s *= exp(-iou^2 / sigma)   (iou_threshold unused)
enum class SoftNmsMethod { linear, gaussian };
struct SoftNmsOptions {
  SoftNmsMethod method = SoftNmsMethod::gaussian;
  double iou_threshold = 0.3;     // linear only (the paper's N_t)
  double sigma = 0.5;             // gaussian only (the paper's value)
  double score_threshold = 1e-3;  // boxes whose decayed score is below this are dropped
};
struct SoftNmsResult {
  Tensor keep;    // int64 [K], indices into the input, by decreasing decayed score
  Tensor scores;  // f32 [K], the decayed scores of `keep`
};
// Throws as nms, and on sigma <= 0.
SoftNmsResult soft_nms(const Tensor& boxes, const Tensor& scores, const SoftNmsOptions& options);

}  // namespace convkit::detect
