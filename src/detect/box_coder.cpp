// Faster R-CNN box encoding (contract and formula in include/convkit/detect/box_coder.h); float32
// arithmetic in torchvision's order so the golden test can hold a tight tolerance.
#include "convkit/detect/box_coder.h"

#include <algorithm>

#include "convkit/error.h"

namespace convkit::detect {

namespace {

void check_pair(const Tensor& a, const char* a_name, const Tensor& b, const char* op) {
  for (const Tensor* t : {&a, &b})
    CONVKIT_CHECK(t->dtype() == DType::f32 && t->ndim() == 2 && t->size(1) == 4, op, ": ",
                  t == &a ? a_name : "anchors", " must be float32 [N, 4], got ",
                  dtype_name(t->dtype()), " ", t->shape().to_string());
  CONVKIT_CHECK(a.size(0) == b.size(0), op, ": ", a_name, " ", a.shape().to_string(),
                " and anchors ", b.shape().to_string(), " must have the same number of rows");
}

void check_positive(const float* r, int64_t row, const char* what, const char* op) {
  CONVKIT_CHECK(r[2] - r[0] > 0 && r[3] - r[1] > 0, op, ": ", what, " ", row, " [", r[0], ", ",
                r[1], ", ", r[2], ", ", r[3],
                "] has a width or height <= 0; drop degenerate boxes before encoding");
}

}  // namespace

BoxCoder::BoxCoder(BoxCoderWeights weights, float scale_clamp)
    : weights_(weights), scale_clamp_(scale_clamp) {
  CONVKIT_CHECK(weights.wx > 0 && weights.wy > 0 && weights.ww > 0 && weights.wh > 0,
                "BoxCoder: weights must be > 0, got (", weights.wx, ", ", weights.wy, ", ",
                weights.ww, ", ", weights.wh, ")");
}

Tensor BoxCoder::encode(const Tensor& boxes, const Tensor& anchors) const {
  check_pair(boxes, "boxes", anchors, "BoxCoder::encode");
  Tensor out = Tensor::empty(boxes.shape());
  const float* g = boxes.data<float>();
  const float* a = anchors.data<float>();
  float* d = out.data<float>();
  for (int64_t i = 0; i < boxes.size(0); ++i, g += 4, a += 4, d += 4) {
    check_positive(a, i, "anchor", "BoxCoder::encode");
    check_positive(g, i, "box", "BoxCoder::encode");
    const float aw = a[2] - a[0], ah = a[3] - a[1];
    const float acx = a[0] + 0.5f * aw, acy = a[1] + 0.5f * ah;
    const float gw = g[2] - g[0], gh = g[3] - g[1];
    const float gcx = g[0] + 0.5f * gw, gcy = g[1] + 0.5f * gh;
    d[0] = weights_.wx * (gcx - acx) / aw;
    d[1] = weights_.wy * (gcy - acy) / ah;
    d[2] = weights_.ww * std::log(gw / aw);
    d[3] = weights_.wh * std::log(gh / ah);
  }
  return out;
}

Tensor BoxCoder::decode(const Tensor& deltas, const Tensor& anchors) const {
  check_pair(deltas, "deltas", anchors, "BoxCoder::decode");
  Tensor out = Tensor::empty(deltas.shape());
  const float* d = deltas.data<float>();
  const float* a = anchors.data<float>();
  float* b = out.data<float>();
  for (int64_t i = 0; i < deltas.size(0); ++i, d += 4, a += 4, b += 4) {
    check_positive(a, i, "anchor", "BoxCoder::decode");
    const float aw = a[2] - a[0], ah = a[3] - a[1];
    const float acx = a[0] + 0.5f * aw, acy = a[1] + 0.5f * ah;
    const float dx = d[0] / weights_.wx, dy = d[1] / weights_.wy;
    const float dw = std::min(d[2] / weights_.ww, scale_clamp_);
    const float dh = std::min(d[3] / weights_.wh, scale_clamp_);
    const float cx = dx * aw + acx, cy = dy * ah + acy;
    const float w = std::exp(dw) * aw, h = std::exp(dh) * ah;
    b[0] = cx - 0.5f * w;
    b[1] = cy - 0.5f * h;
    b[2] = cx + 0.5f * w;
    b[3] = cy + 0.5f * h;
  }
  return out;
}

}  // namespace convkit::detect
