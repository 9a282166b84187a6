// Metric-learning losses, composed from differentiable ops (their gradients are those ops' rules):
//   pairwise_distances:  d2 = sq_i + sq_j - 2 X X^T, relu, 0 on the diagonal, then sqrt(d2 + 1e-12)
//                        unless squared
//   contrastive_loss:    0.5 * (same ? d^2 : relu(margin - d)^2), mean
//   triplet_margin_loss: relu(d[a,p] - d[a,n] + margin) read from d flattened with index_select
#include "convkit/ops/metric_loss.h"

#include <algorithm>
#include <vector>

#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/indexing.h"
#include "convkit/ops/linear.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/shape_ops.h"

namespace convkit {

namespace {
// Keeps sqrt's gradient 1 / (2 sqrt(d2)) finite where two rows coincide (the diagonal).
constexpr double kSqrtEps = 1e-12;
}  // namespace

Tensor pairwise_distances(const Tensor& x, bool squared) {
  CONVKIT_CHECK(x.ndim() == 2, "pairwise_distances: expected embeddings [N, D], got ",
                x.shape().to_string());
  CONVKIT_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                "pairwise_distances: embeddings must be float32 or float64, got ",
                dtype_name(x.dtype()));
  Tensor sq = sum(x * x, {1}, /*keepdim=*/true);  // [N, 1]
  Tensor gram = matmul(x, transpose(x, 0, 1));    // [N, N]
  // A row's distance to itself is 0 by definition; computed, it is |x|^2 rounded two ways (the
  // sum and the matmul), which sqrt's steep gradient at 0 would amplify. The mask makes it exact.
  const int64_t n = x.size(0);
  std::vector<double> off(size_t(n * n), 1.0);
  for (int64_t i = 0; i < n; ++i) off[size_t(i * n + i)] = 0.0;
  Tensor d2 =
      relu(sq + transpose(sq, 0, 1) - gram * 2.0) * Tensor::from_vector(off, {n, n}).to(x.dtype());
  return squared ? d2 : sqrt(d2 + kSqrtEps);
}

Tensor contrastive_loss(const Tensor& d, const Tensor& same, double margin) {
  CONVKIT_CHECK(margin > 0, "contrastive_loss: margin must be > 0, got ", margin);
  CONVKIT_CHECK(d.ndim() == 1 && same.shape() == d.shape(),
                "contrastive_loss: expected distances [P] and same [P], got ",
                shapes_str({&d, &same}));
  CONVKIT_CHECK(same.dtype() == DType::u8 || same.dtype() == DType::i64,
                "contrastive_loss: `same` must be uint8 or int64 (1 = same identity), got ",
                dtype_name(same.dtype()));
  Tensor y = same.to(d.dtype());
  Tensor pull = d * d;                       // same identity: bring together
  Tensor push = pow(relu(margin - d), 2.0);  // different: apart to at least `margin`
  return mean(y * pull + (1.0 - y) * push) * 0.5;
}

Tensor triplet_margin_loss(const Tensor& d, const std::vector<int64_t>& anchor,
                           const std::vector<int64_t>& positive,
                           const std::vector<int64_t>& negative, double margin,
                           bool average_over_active) {
  CONVKIT_CHECK(d.ndim() == 2 && d.size(0) == d.size(1),
                "triplet_margin_loss: expected a square distance matrix [N, N], got ",
                d.shape().to_string());
  CONVKIT_CHECK(anchor.size() == positive.size() && anchor.size() == negative.size(),
                "triplet_margin_loss: ", anchor.size(), " anchors, ", positive.size(),
                " positives and ", negative.size(), " negatives (one of each per triplet)");
  CONVKIT_CHECK(margin >= 0, "triplet_margin_loss: margin must be >= 0, got ", margin);
  const int64_t n = d.size(0), t = int64_t(anchor.size());
  if (t == 0) return sum(d) * 0.0;
  std::vector<int64_t> ap(t), an(t);
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t v : {anchor[i], positive[i], negative[i]})
      CONVKIT_CHECK(v >= 0 && v < n, "triplet_margin_loss: triplet ", i, " (", anchor[i], ", ",
                    positive[i], ", ", negative[i], ") indexes outside the ", n,
                    " rows of the distance matrix");
    ap[i] = anchor[i] * n + positive[i];  // row-major position in d.reshape([N*N])
    an[i] = anchor[i] * n + negative[i];
  }
  Tensor flat = d.reshape({n * n});
  Tensor d_ap = index_select(flat, 0, Tensor::from_vector(ap, {t}));
  Tensor d_an = index_select(flat, 0, Tensor::from_vector(an, {t}));
  Tensor losses = relu(d_ap - d_an + margin);
  if (!average_over_active) return mean(losses);
  int64_t active = 0;
  {
    Tensor l = losses.detach().to(DType::f64);
    const double* p = l.data<double>();
    active = std::count_if(p, p + t, [](double v) { return v > 0; });
  }
  return sum(losses) / double(std::max<int64_t>(active, 1));
}

}  // namespace convkit
