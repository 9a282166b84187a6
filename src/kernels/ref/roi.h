#pragma once
// Reference RoI kernels (convkit/ops/roi.h): arithmetic only, arguments checked by the ops.
#include "convkit/ops/roi.h"
#include "convkit/tensor.h"

namespace convkit::ref {

// y [K, C, PH, PW]; argmax [K, C, PH, PW] int64 (flat h * W + w of the max, -1 for an empty bin).
template <class T>
void roi_pool_forward(Tensor& y, Tensor& argmax, const Tensor& x, const Tensor& rois,
                      const RoiParams& p);
// dx [N, C, H, W] (overwritten) from dy and the saved argmax.
template <class T>
void roi_pool_backward(Tensor& dx, const Tensor& dy, const Tensor& argmax, const Tensor& rois);

template <class T>
void roi_align_forward(Tensor& y, const Tensor& x, const Tensor& rois, const RoiParams& p);
// dx [N, C, H, W] (overwritten).
template <class T>
void roi_align_backward(Tensor& dx, const Tensor& dy, const Tensor& rois, const RoiParams& p);

}  // namespace convkit::ref
