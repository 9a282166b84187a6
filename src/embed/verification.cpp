#include "convkit/embed/verification.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "convkit/metrics/curves.h"
#include "convkit/random.h"

namespace convkit::embed {

namespace {
int64_t draw(Generator& gen, int64_t n) { return int64_t(gen.next_u64() % uint64_t(n)); }

std::map<int64_t, std::vector<int64_t>> group_by_label(const std::vector<int64_t>& labels) {
  std::map<int64_t, std::vector<int64_t>> g;
  for (size_t i = 0; i < labels.size(); ++i) g[labels[i]].push_back(int64_t(i));
  return g;
}

void check_pairs(const std::vector<double>& d, const std::vector<int>& same, const char* who) {
  CONVKIT_CHECK(!d.empty() && d.size() == same.size(), who, ": ", d.size(), " distances and ",
                same.size(), " same/different flags (need one flag per distance, at least one)");
}
}  // namespace

Pairs balanced_pairs(const std::vector<int64_t>& labels, int64_t count, uint64_t seed) {
  CONVKIT_CHECK(count >= 2 && count % 2 == 0, "balanced_pairs: count must be even and >= 2, got ",
                count);
  const auto groups = group_by_label(labels);
  std::vector<const std::vector<int64_t>*> multi;
  for (const auto& [label, idx] : groups)
    if (idx.size() >= 2) multi.push_back(&idx);
  CONVKIT_CHECK(!multi.empty() && groups.size() >= 2,
                "balanced_pairs: need 2 classes and a class "
                "with 2 examples; the labels have ",
                groups.size(), " classes, ", multi.size(), " of them with 2 examples or more");
  Generator gen(seed);
  Pairs p;
  const int64_t n = int64_t(labels.size());
  for (int64_t k = 0; k < count / 2; ++k) {
    const auto& idx = *multi[size_t(draw(gen, int64_t(multi.size())))];
    const int64_t a = draw(gen, int64_t(idx.size()));
    const int64_t b = (a + 1 + draw(gen, int64_t(idx.size()) - 1)) % int64_t(idx.size());
    p.first.push_back(idx[size_t(a)]), p.second.push_back(idx[size_t(b)]), p.same.push_back(1);
    int64_t i = draw(gen, n), j = draw(gen, n);
    while (labels[size_t(i)] == labels[size_t(j)]) j = draw(gen, n);
    p.first.push_back(i), p.second.push_back(j), p.same.push_back(0);
  }
  return p;
}

std::vector<double> pair_distances(const Tensor& embeddings, const Pairs& pairs) {
  CONVKIT_CHECK(embeddings.ndim() == 2, "pair_distances: expected embeddings [N, D], got ",
                embeddings.shape().to_string());
  Tensor e = embeddings.detach().to(DType::f64);
  const int64_t n = e.size(0), dim = e.size(1);
  const double* x = e.data<double>();
  std::vector<double> d(size_t(pairs.size()));
  for (int64_t k = 0; k < pairs.size(); ++k) {
    const int64_t i = pairs.first[size_t(k)], j = pairs.second[size_t(k)];
    CONVKIT_CHECK(i >= 0 && i < n && j >= 0 && j < n, "pair_distances: pair ", k, " (", i, ", ", j,
                  ") is outside the ", n, " embeddings");
    double s = 0;
    for (int64_t c = 0; c < dim; ++c)
      s += (x[i * dim + c] - x[j * dim + c]) * (x[i * dim + c] - x[j * dim + c]);
    d[size_t(k)] = std::sqrt(s);
  }
  return d;
}

double pair_accuracy(const std::vector<double>& d, const std::vector<int>& same, double threshold) {
  check_pairs(d, same, "pair_accuracy");
  int64_t right = 0;
  for (size_t i = 0; i < d.size(); ++i) right += (d[i] <= threshold) == (same[i] != 0);
  return double(right) / double(d.size());
}

double best_accuracy_threshold(const std::vector<double>& d, const std::vector<int>& same) {
  check_pairs(d, same, "best_accuracy_threshold");
  std::vector<size_t> order(d.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return d[a] < d[b]; });
  // Start with nothing accepted (threshold below every distance): right = the different pairs.
  int64_t right = 0;
  for (int s : same) right += s == 0;
  int64_t best = right;
  double best_t = d[order[0]] - 1e-6;
  for (size_t k = 0; k < order.size(); ++k) {
    right += same[order[k]] ? 1 : -1;                                      // pair k becomes "same"
    if (k + 1 < order.size() && d[order[k + 1]] == d[order[k]]) continue;  // ties move together
    if (right > best) {
      best = right;
      best_t = k + 1 < order.size() ? 0.5 * (d[order[k]] + d[order[k + 1]]) : d[order[k]] + 1e-6;
    }
  }
  return best_t;
}

double threshold_at_far(const std::vector<double>& d, const std::vector<int>& same, double far) {
  check_pairs(d, same, "threshold_at_far");
  CONVKIT_CHECK(far >= 0 && far <= 1,
                "threshold_at_far: the false-accept rate must be in [0, 1], "
                "got ",
                far);
  std::vector<double> neg;
  for (size_t i = 0; i < d.size(); ++i)
    if (!same[i]) neg.push_back(d[i]);
  CONVKIT_CHECK(!neg.empty(),
                "threshold_at_far: no different-identity pair to measure a "
                "false-accept rate on");
  std::sort(neg.begin(), neg.end());
  // Accepting the k nearest different pairs gives FAR k / |neg|; the largest k allowed:
  const size_t k = size_t(std::floor(far * double(neg.size()) + 1e-9));
  if (k >= neg.size()) return std::max(neg.back(), *std::max_element(d.begin(), d.end())) + 1e-6;
  // Every different pair at distance >= neg[k] stays rejected (ties with neg[k] too); everything
  // below it is accepted: midway between neg[k] and the largest distance of any pair below it.
  double below = -1;
  for (double v : d)
    if (v < neg[k]) below = std::max(below, v);
  return below < 0 ? neg[k] - 1e-6 : 0.5 * (below + neg[k]);
}

double tar_at_far(const std::vector<double>& d, const std::vector<int>& same, double far) {
  const double t = threshold_at_far(d, same, far);
  int64_t pos = 0, hit = 0;
  for (size_t i = 0; i < d.size(); ++i)
    if (same[i]) ++pos, hit += d[i] <= t;
  CONVKIT_CHECK(pos > 0, "tar_at_far: no same-identity pair");
  return double(hit) / double(pos);
}

double verification_auc(const std::vector<double>& d, const std::vector<int>& same) {
  std::vector<double> score(d.size());
  for (size_t i = 0; i < d.size(); ++i) score[i] = -d[i];
  return metrics::roc_auc(score, same);
}

double one_shot_accuracy(const Tensor& embeddings, const std::vector<int64_t>& labels, int64_t ways,
                         int64_t episodes, uint64_t seed) {
  CONVKIT_CHECK(ways >= 2 && episodes >= 1,
                "one_shot_accuracy: ways must be >= 2 and episodes "
                ">= 1, got ",
                ways, " and ", episodes);
  CONVKIT_CHECK(embeddings.ndim() == 2 && embeddings.size(0) == int64_t(labels.size()),
                "one_shot_accuracy: embeddings ", embeddings.shape().to_string(), " for ",
                labels.size(), " labels");
  std::vector<std::vector<int64_t>> classes;
  for (auto& [label, idx] : group_by_label(labels))
    if (idx.size() >= 2) classes.push_back(idx);
  CONVKIT_CHECK(int64_t(classes.size()) >= ways, "one_shot_accuracy: ", ways, "-way episodes need ",
                ways, " classes with 2 examples; there are ", classes.size());
  Tensor e = embeddings.detach().to(DType::f64);
  const int64_t dim = e.size(1);
  const double* x = e.data<double>();
  auto dist2 = [&](int64_t i, int64_t j) {
    double s = 0;
    for (int64_t c = 0; c < dim; ++c)
      s += (x[i * dim + c] - x[j * dim + c]) * (x[i * dim + c] - x[j * dim + c]);
    return s;
  };
  Generator gen(seed);
  std::vector<int64_t> pick(classes.size());
  int64_t right = 0;
  for (int64_t ep = 0; ep < episodes; ++ep) {
    std::iota(pick.begin(), pick.end(), 0);
    for (int64_t i = 0; i < ways; ++i)
      std::swap(pick[size_t(i)], pick[size_t(i + draw(gen, int64_t(pick.size()) - i))]);
    std::vector<int64_t> support(static_cast<size_t>(ways));
    for (int64_t w = 0; w < ways; ++w) {
      const auto& idx = classes[size_t(pick[size_t(w)])];
      support[size_t(w)] = idx[size_t(draw(gen, int64_t(idx.size())))];
    }
    const int64_t truth = draw(gen, ways);
    const auto& idx = classes[size_t(pick[size_t(truth)])];
    int64_t query = idx[size_t(draw(gen, int64_t(idx.size()) - 1))];
    if (query == support[size_t(truth)]) query = idx.back();
    int64_t nearest = 0;
    for (int64_t w = 1; w < ways; ++w)
      if (dist2(query, support[size_t(w)]) < dist2(query, support[size_t(nearest)])) nearest = w;
    right += nearest == truth;
  }
  return double(right) / double(episodes);
}

}  // namespace convkit::embed
