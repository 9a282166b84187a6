// Distillation loss, composed of differentiable ops (docs/derivatives/dense.md covers them); the
// teacher's entropy is a constant computed without autograd so that the soft term is the KL
// divergence itself (0 when the student matches), not just the cross entropy.
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/loss.h"

namespace convkit {

namespace {
// Mean over rows of sum_c p log p, for probabilities p [N, C].
double mean_neg_entropy(const Tensor& p) {
  const Tensor pd = p.to(DType::f64);
  const double* q = pd.data<double>();
  double s = 0;
  for (int64_t i = 0; i < pd.numel(); ++i)
    if (q[i] > 0) s += q[i] * std::log(q[i]);
  return s / double(p.size(0));
}
}  // namespace

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                         const Tensor& target, double temperature, double alpha,
                         double label_smoothing) {
  CONVKIT_CHECK(student_logits.defined() && teacher_logits.defined(),
                "distillation_loss: undefined logits");
  CONVKIT_CHECK(student_logits.ndim() == 2 && student_logits.shape() == teacher_logits.shape(),
                "distillation_loss: student and teacher logits must both be [N, C]; got ",
                shapes_str({&student_logits, &teacher_logits}));
  CONVKIT_CHECK(temperature > 0, "distillation_loss: temperature must be > 0, got ", temperature);
  CONVKIT_CHECK(alpha >= 0 && alpha <= 1, "distillation_loss: alpha must be in [0, 1], got ",
                alpha);
  Tensor soft;
  double neg_entropy;
  {
    NoGradGuard no_grad;
    soft = softmax(mul(teacher_logits.detach().to(student_logits.dtype()), 1.0 / temperature), 1);
    neg_entropy = mean_neg_entropy(soft);
  }
  Tensor kl = add(soft_cross_entropy(mul(student_logits, 1.0 / temperature), soft), neg_entropy);
  Tensor soft_term = mul(kl, alpha * temperature * temperature);
  if (alpha == 1.0) return soft_term;
  Tensor hard = cross_entropy(student_logits, target, label_smoothing);
  return add(soft_term, mul(hard, 1.0 - alpha));
}

}  // namespace convkit
