#pragma once
// Box regression targets relative to anchors (or proposals): the R-CNN / Faster R-CNN
// parameterisation (Girshick et al. 2014, appendix C; Ren et al. 2015, eq. 2), as torchvision's
// detection BoxCoder:
//   w_a = x2_a - x1_a, cx_a = x1_a + w_a / 2 (the same for the ground truth g)
//   dx = wx (cx_g - cx_a) / w_a     dy = wy (cy_g - cy_a) / h_a
//   dw = ww log(w_g / w_a)          dh = wh log(h_g / h_a)
// decode inverts it, clamping dw / wh and dh / wh to log(1000 / 16) first so that an untrained
// regressor cannot overflow exp().
#include <cmath>

#include "convkit/tensor.h"

namespace convkit::detect {

struct BoxCoderWeights {
  float wx = 1, wy = 1, ww = 1, wh = 1;  // Faster R-CNN's second stage uses (10, 10, 5, 5)
};

class BoxCoder {
 public:
  explicit BoxCoder(BoxCoderWeights weights = {},
                    float scale_clamp = static_cast<float>(std::log(1000.0 / 16)));
  // Deltas [N, 4] that take anchors [N, 4] (xyxy, positive width and height) to boxes [N, 4]
  // (xyxy, positive width and height). Throws naming the row when an anchor or box has a width
  // or height <= 0 (the log is undefined) or the shapes differ.
  Tensor encode(const Tensor& boxes, const Tensor& anchors) const;
  // Boxes [N, 4] (xyxy) from deltas [N, 4] against anchors [N, 4]. Throws unless the shapes agree
  // and every anchor has positive width and height.
  Tensor decode(const Tensor& deltas, const Tensor& anchors) const;
  const BoxCoderWeights& weights() const { return weights_; }

 private:
  BoxCoderWeights weights_;
  float scale_clamp_;
};

}  // namespace convkit::detect
