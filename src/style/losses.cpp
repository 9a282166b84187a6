// Style-transfer losses as compositions of ops (their derivatives are the ops'; nothing here has a
// hand-written backward).
#include "convkit/style/losses.h"

#include "convkit/ops/elementwise.h"
#include "convkit/ops/linear.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::style {

Tensor gram_matrix(const Tensor& features) {
  const Shape& s = features.shape();
  CONVKIT_CHECK(s.ndim() == 4 && s.numel() > 0, "gram_matrix: expected feature maps [N, C, H, W] ",
                "with no empty dimension, got ", s.to_string());
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  // F F^T as linear(F, F) (x w^T with x = w = F [C, H*W]): no transposed copy of F, whose 67 MB
  // at 512 x 512 matmul(F, F^T) copied in the forward and twice more in the backward (measured:
  // 8% of a 512 x 512 style iteration in ref::permute). The gradient reaches F through both
  // operands: dF = (dG + dG^T) F.
  TensorList grams;
  for (int64_t n = 0; n < N; ++n) {
    const Tensor f = narrow(features, 0, n, 1).reshape({C, HW});
    grams.push_back(linear(f, f).reshape({1, C, C}));
  }
  return (N == 1 ? grams[0] : concat(grams, 0)) * (1.0 / double(C * HW));
}

Tensor content_loss(const Tensor& features, const Tensor& target) {
  CONVKIT_CHECK(features.shape() == target.shape(), "content_loss: features and target differ in ",
                "shape (", shapes_str({&features, &target}), ")");
  return mse_loss(features, target);
}

Tensor style_loss(const Tensor& features, const Tensor& target_gram) {
  Tensor g = gram_matrix(features);
  const Shape& t = target_gram.shape();
  CONVKIT_CHECK(
      t.ndim() == 3 && t[1] == g.size(1) && t[2] == g.size(2) && (t[0] == g.size(0) || t[0] == 1),
      "style_loss: target Gram matrix ", t.to_string(), " does not fit features ",
      features.shape().to_string(), " (expected [N, C, C] or [1, C, C] with N = ", g.size(0),
      ", C = ", g.size(1), ")");
  Tensor diff = g - target_gram;
  return mean(diff * diff);
}

Tensor total_variation(const Tensor& x) {
  const Shape& s = x.shape();
  CONVKIT_CHECK(s.ndim() == 4 && s[2] >= 2 && s[3] >= 2,
                "total_variation: expected images [N, C, H, W] with H, W >= 2, got ",
                s.to_string());
  const int64_t H = s[2], W = s[3];
  Tensor dh = narrow(x, 2, 1, H - 1) - narrow(x, 2, 0, H - 1);
  Tensor dw = narrow(x, 3, 1, W - 1) - narrow(x, 3, 0, W - 1);
  return mean(dh * dh) + mean(dw * dw);
}

}  // namespace convkit::style
