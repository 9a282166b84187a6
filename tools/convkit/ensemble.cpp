#include "ensemble.h"

#include <algorithm>
#include <cmath>

#include "convkit/error.h"
#include "convkit/ops.h"

namespace convkit::cli {

std::vector<int64_t> predictions(const Tensor& probs) {
  const int64_t n = probs.size(0), c = probs.size(1);
  std::vector<int64_t> out(static_cast<size_t>(n));
  const float* p = probs.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * c;
    bool finite = true;
    for (int64_t k = 0; k < c; ++k) finite = finite && std::isfinite(row[k]);
    out[size_t(i)] = finite ? std::max_element(row, row + c) - row : -1;
  }
  return out;
}

double accuracy(const std::vector<int64_t>& predicted, const Tensor& labels) {
  if (predicted.empty()) return 0;
  int64_t right = 0;
  for (size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == labels.data<int64_t>()[i];
  return double(right) / double(predicted.size());
}

EnsembleAccuracy ensemble_accuracy(const std::vector<Tensor>& probabilities, const Tensor& labels) {
  CONVKIT_CHECK(!probabilities.empty(), "ensemble: no members");
  EnsembleAccuracy r;
  Tensor sum;
  std::vector<std::vector<int64_t>> votes;
  for (size_t m = 0; m < probabilities.size(); ++m) {
    const Tensor& p = probabilities[m];
    CONVKIT_CHECK(p.shape() == probabilities[0].shape() && p.size(0) == labels.numel(),
                  "ensemble: member ", m + 1, " gave probabilities ", p.shape().to_string(),
                  ", member 1 ", probabilities[0].shape().to_string(), ", for ", labels.numel(),
                  " labels");
    votes.push_back(predictions(p));
    r.members.push_back(accuracy(votes.back(), labels));
    sum = sum.defined() ? add(sum, p) : p.clone();
  }
  for (double t : r.members) r.mean += t / double(r.members.size());
  if (r.members.size() > 1) {
    double var = 0;
    for (double t : r.members) var += (t - r.mean) * (t - r.mean) / double(r.members.size() - 1);
    r.std = std::sqrt(var);
  }
  r.averaged = accuracy(predictions(sum), labels);
  // Majority vote; a tie goes to the class of highest mean probability among the tied.
  const int64_t n = labels.numel(), c = sum.size(1);
  std::vector<int64_t> vote(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> count(size_t(c), 0);
    for (const auto& v : votes)
      if (v[size_t(i)] >= 0) ++count[size_t(v[size_t(i)])];
    int64_t best = 0;
    for (int64_t q = 1; q < c; ++q)
      if (count[size_t(q)] > count[size_t(best)] ||
          (count[size_t(q)] == count[size_t(best)] &&
           sum.data<float>()[i * c + q] > sum.data<float>()[i * c + best]))
        best = q;
    vote[size_t(i)] = best;
  }
  r.voted = accuracy(vote, labels);
  return r;
}

}  // namespace convkit::cli
