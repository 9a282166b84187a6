#pragma once
// Metric-learning losses over embeddings: pairwise distances, the contrastive loss on pairs
// (Hadsell, Chopra & LeCun 2006) and the triplet margin loss on chosen triplets (Schroff et al.
// 2015, FaceNet). Built from differentiable ops (matmul, sqrt, relu, index_select), so their
// gradients come from those ops' rules. Which triplets to use (batch-all, batch-hard, semi-hard)
// is embed/mining.h; the whole loss of a P x K batch is embed::batch_triplet_loss.
#include <cstdint>
#include <vector>

#include "convkit/tensor.h"

namespace convkit {

// Euclidean distances between the rows of x [N, D] (float32 or float64):
//   d2_ij = |x_i|^2 + |x_j|^2 - 2 x_i . x_j, clamped at 0 (rounding can make it slightly negative),
//   and exactly 0 for i == j;
//   squared: d_ij = d2_ij;  otherwise d_ij = sqrt(d2_ij + 1e-12)
// (the 1e-12 keeps the gradient of sqrt finite on the diagonal and for duplicate rows; it shifts a
// distance by at most 1e-6). Returns [N, N]. Gradient to x. Throws when x is not 2-D.
Tensor pairwise_distances(const Tensor& x, bool squared = false);

// Contrastive loss of pair distances d [P] with `same` [P] (uint8 or int64: 1 = same identity):
//   l_i = 0.5 * d_i^2                   when same_i
//   l_i = 0.5 * max(0, margin - d_i)^2  otherwise
// mean over the pairs (a 0-d tensor). margin > 0. Gradient to d. Throws naming the shapes when d
// and same differ in size, or when margin <= 0.
Tensor contrastive_loss(const Tensor& d, const Tensor& same, double margin);

// Triplet margin loss from a distance matrix d [N, N] (pairwise_distances) and triplets given as
// row indices (anchor[t], positive[t], negative[t]), all of one length T:
//   l_t = max(0, d[a_t, p_t] - d[a_t, n_t] + margin)
// average_over_active: the sum divided by the number of triplets with l_t > 0 (Hermans et al.
// 2017's "batch all" average; 0 when none is active), otherwise the mean over all T.
// T = 0 gives a 0 loss that still depends on d (zero gradient). Gradient to d. Throws when d is
// not square, the lists differ in length, an index is outside [0, N), or margin < 0.
Tensor triplet_margin_loss(const Tensor& d, const std::vector<int64_t>& anchor,
                           const std::vector<int64_t>& positive,
                           const std::vector<int64_t>& negative, double margin,
                           bool average_over_active = false);

}  // namespace convkit
