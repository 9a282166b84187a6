#pragma once
// Region-of-interest pooling: a fixed-size feature map per box, as Fast/Faster R-CNN's second
// stage reads it. Both ops are torchvision.ops' (roi_pool, roi_align) and checked against them.
//
//   x: [N, C, H, W] features; rois: [K, 5] rows (batch index, x1, y1, x2, y2) in input-image
//   pixels; spatial_scale maps them to feature pixels (1/16 for a stride-16 backbone);
//   output: [K, C, PH, PW]. Gradients flow to x only (none to rois).
// Throws naming the shapes when x is not 4-D, rois is not [K, 5] of x's dtype, a batch index is not
// an integer in [0, N), a coordinate is not finite, or the output size or scale is not positive.
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit {

struct RoiParams {
  int64_t out_h = 7, out_w = 7;  // PH, PW
  double spatial_scale = 1.0;
  // roi_align only: bilinear samples per bin side; <= 0: ceil(roi size / output size), adaptive.
  int64_t sampling_ratio = -1;
  // roi_align only: shift the box by -0.5 pixel so that sample points sit on pixel centres
  // (Detectron2's "ROIAlignV2"); false is the original RoIAlign (He et al. 2017).
  bool aligned = false;
};

// RoI max pooling (Girshick 2015, Fast R-CNN section 2.1): the box's corners are rounded to feature
// pixels, (x1, y1) to (x2, y2) inclusive, split into PH x PW bins of floor/ceil bounds; each output
// is the max of its bin (0 for an empty bin). Gradient: dy to the arg-max element.
Tensor roi_pool(const Tensor& x, const Tensor& rois, const RoiParams& p);

// RoI Align (He et al. 2017, Mask R-CNN section 3): no rounding; each bin averages a grid of
// sampling_ratio^2 bilinear samples at (y1 + (ph + (iy + 0.5) / g) bin_h, ...). A sample outside
// [-1, H] x [-1, W] counts 0; samples within are clamped to the map. Without `aligned`, boxes are
// at least 1 x 1 feature pixel. Gradient: each sample's bilinear weights / count times dy.
Tensor roi_align(const Tensor& x, const Tensor& rois, const RoiParams& p);

}  // namespace convkit
