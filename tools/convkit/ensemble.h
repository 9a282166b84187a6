#pragma once
// Ensembles of classifiers evaluated on the same examples (`convkit cv`'s fold models, `convkit
// eval --ensemble`): averaged probabilities and majority vote against the members alone.
#include <cstdint>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::cli {

// Argmax of each row of probabilities [N, C]; -1 for a row with a non-finite value.
std::vector<int64_t> predictions(const Tensor& probabilities);
// Fraction of `predicted` equal to labels [N] (int64); -1 never is.
double accuracy(const std::vector<int64_t>& predicted, const Tensor& labels);

struct EnsembleAccuracy {
  std::vector<double> members;  // each member's top-1
  double mean = 0, std = 0;     // over the members (std: sample, 0 for one member)
  double averaged = 0;          // top-1 of the mean probabilities
  double voted = 0;             // top-1 of the majority vote (ties: highest mean probability)
};
// `probabilities`: one [N, C] per member, same examples in the same order. Throws when the
// members' shapes differ.
EnsembleAccuracy ensemble_accuracy(const std::vector<Tensor>& probabilities, const Tensor& labels);

}  // namespace convkit::cli
