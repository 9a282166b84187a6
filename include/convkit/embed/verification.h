#pragma once
// Verification with embeddings: is this pair the same identity? Distances between L2-normalised
// embeddings are compared with a threshold chosen on validation pairs; "same" means
// distance <= threshold. ROC curves and AUC come from metrics/curves.h with score = -distance.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::embed {

// Pairs of rows of an embedding matrix and whether they share a label.
struct Pairs {
  std::vector<int64_t> first, second;
  std::vector<int> same;  // 1: same label
  int64_t size() const { return int64_t(first.size()); }
};

// `count` pairs (even), half of the same label and half of different labels, drawn with a seeded
// generator from examples with these labels; a pair never repeats an example. Throws when count
// is odd or < 2, or when no class has 2 examples, or fewer than 2 classes exist.
Pairs balanced_pairs(const std::vector<int64_t>& labels, int64_t count, uint64_t seed);

// Euclidean distance of each pair of rows of embeddings [N, D]. Throws naming the pair whose
// index is outside [0, N).
std::vector<double> pair_distances(const Tensor& embeddings, const Pairs& pairs);

// Fraction of pairs classified right with "same" = distance <= threshold.
double pair_accuracy(const std::vector<double>& distances, const std::vector<int>& same,
                     double threshold);

// The threshold of highest pair accuracy: midway between two consecutive sorted distances (or
// just past the ends), the lowest such on ties. Throws on empty or mismatched inputs.
double best_accuracy_threshold(const std::vector<double>& distances, const std::vector<int>& same);

// A threshold of false-accept rate (different pairs with distance <= threshold, over all different
// pairs) at most `far` that accepts as many pairs as such a threshold can: with the different-pair
// distances sorted, n_0 <= n_1 <= ..., and k = floor(far * count), it lies midway between n_k and
// the largest distance of any pair below n_k (ties with n_k are rejected together). Throws when
// there is no different pair or far is outside [0, 1].
double threshold_at_far(const std::vector<double>& distances, const std::vector<int>& same,
                        double far);

// True-accept rate (same pairs with distance <= threshold_at_far(far), over all same pairs).
double tar_at_far(const std::vector<double>& distances, const std::vector<int>& same, double far);

// ROC AUC of the pairs with score -distance (metrics::roc_auc).
double verification_auc(const std::vector<double>& distances, const std::vector<int>& same);

// N-way one-shot classification (Koch et al. 2015): each episode draws `ways` distinct classes, one
// support example of each and one query of one of them (never the support itself), and is correct
// when the query's nearest support (Euclidean) has its class. Returns the fraction correct over
// `episodes`. Throws when fewer than `ways` classes have 2 examples, or ways < 2.
double one_shot_accuracy(const Tensor& embeddings, const std::vector<int64_t>& labels, int64_t ways,
                         int64_t episodes, uint64_t seed);

}  // namespace convkit::embed
