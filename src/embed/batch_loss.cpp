#include "convkit/embed/batch_loss.h"

#include <cmath>

#include "convkit/ops.h"
#include "convkit/ops/metric_loss.h"

namespace convkit::embed {

Tensor l2_normalize(const Tensor& x) {
  CONVKIT_CHECK(x.ndim() == 2, "l2_normalize: expected embeddings [N, D], got ",
                x.shape().to_string());
  return x / sqrt(sum(x * x, {1}, /*keepdim=*/true) + 1e-12);
}

LossKind parse_loss(const std::string& name) {
  if (name == "triplet") return LossKind::triplet;
  if (name == "contrastive") return LossKind::contrastive;
  throw Error("unknown embedding loss '" + name + "': use triplet or contrastive");
}

EmbeddingLoss embedding_loss(const Tensor& embeddings, const std::vector<int64_t>& labels,
                             const EmbeddingLossOptions& o) {
  const int64_t n = int64_t(labels.size());
  CONVKIT_CHECK(embeddings.ndim() == 2 && embeddings.size(0) == n,
                "embedding loss: expected embeddings [", n, ", D] for ", n, " labels, got ",
                embeddings.shape().to_string());
  EmbeddingLoss r;
  const bool squared = o.loss == LossKind::triplet && o.squared;
  Tensor d = pairwise_distances(embeddings, squared);
  // Mean distances of same / different pairs, for the logs (Euclidean whatever the loss uses).
  {
    Tensor dd = d.detach().to(DType::f64);
    const double* D = dd.data<double>();
    double sp = 0, sn = 0;
    int64_t np = 0, nn = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) {
        const double v = squared ? std::sqrt(D[i * n + j]) : D[i * n + j];
        if (labels[i] == labels[j])
          sp += v, ++np;
        else
          sn += v, ++nn;
      }
    r.positive_distance = np ? sp / double(np) : 0;
    r.negative_distance = nn ? sn / double(nn) : 0;
  }
  if (o.loss == LossKind::triplet) {
    const Triplets t = mine_triplets(d, labels, o.mining);
    r.loss = triplet_margin_loss(d, t.anchor, t.positive, t.negative, o.margin,
                                 /*average_over_active=*/o.mining == Mining::all);
    r.terms = t.size();
    Tensor dd = d.detach().to(DType::f64);
    const double* D = dd.data<double>();
    for (int64_t i = 0; i < t.size(); ++i)
      r.active +=
          D[t.anchor[i] * n + t.positive[i]] - D[t.anchor[i] * n + t.negative[i]] + o.margin > 0;
    return r;
  }
  // Every pair i < j, read from d flattened ([N, N] -> [N*N]).
  std::vector<int64_t> pos;
  std::vector<uint8_t> same;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      pos.push_back(i * n + j);
      same.push_back(labels[i] == labels[j]);
    }
  r.terms = int64_t(pos.size());
  if (r.terms == 0) {
    r.loss = sum(d) * 0.0;
    return r;
  }
  Tensor pd = index_select(d.reshape({n * n}), 0, Tensor::from_vector(pos, {r.terms}));
  r.loss = contrastive_loss(pd, Tensor::from_vector(same, {r.terms}), o.margin);
  Tensor v = pd.detach().to(DType::f64);
  for (int64_t k = 0; k < r.terms; ++k)
    r.active += same[k] ? v.data<double>()[k] > 0 : v.data<double>()[k] < o.margin;
  return r;
}

}  // namespace convkit::embed
