#include "convkit/embed/subclasses.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "convkit/random.h"

namespace convkit::embed {

namespace {
double dist2(const float* a, const double* c, int64_t dim) {
  double s = 0;
  for (int64_t i = 0; i < dim; ++i) s += (double(a[i]) - c[i]) * (double(a[i]) - c[i]);
  return s;
}

// Cluster of each row of x [n, dim] among k (k-means++ seeding, then Lloyd rounds).
std::vector<int64_t> kmeans(const float* x, int64_t n, int64_t dim, int64_t k, Generator& gen,
                            int iterations) {
  std::vector<double> centres(size_t(k * dim));
  std::vector<double> nearest(size_t(n), 1e300);
  int64_t pick = int64_t(gen.next_u64() % uint64_t(n));
  for (int64_t c = 0; c < k; ++c) {
    std::copy(x + pick * dim, x + (pick + 1) * dim, centres.begin() + c * dim);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      nearest[size_t(i)] =
          std::min(nearest[size_t(i)], dist2(x + i * dim, &centres[size_t(c * dim)], dim));
      total += nearest[size_t(i)];
    }
    // The next centre with probability proportional to the squared distance to the nearest one.
    double r = gen.uniform(0, total);
    for (pick = 0; pick + 1 < n && r >= nearest[size_t(pick)]; ++pick) r -= nearest[size_t(pick)];
  }
  std::vector<int64_t> assign(size_t(n), 0);
  for (int it = 0; it < iterations; ++it) {
    for (int64_t i = 0; i < n; ++i) {
      double best = 1e300;
      for (int64_t c = 0; c < k; ++c) {
        const double d = dist2(x + i * dim, &centres[size_t(c * dim)], dim);
        if (d < best) best = d, assign[size_t(i)] = c;
      }
    }
    std::vector<double> sum(size_t(k * dim), 0.0);
    std::vector<int64_t> count(size_t(k), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++count[size_t(assign[size_t(i)])];
      for (int64_t j = 0; j < dim; ++j) sum[size_t(assign[size_t(i)] * dim + j)] += x[i * dim + j];
    }
    for (int64_t c = 0; c < k; ++c)
      if (count[size_t(c)] > 0)  // an emptied cluster keeps its centre
        for (int64_t j = 0; j < dim; ++j)
          centres[size_t(c * dim + j)] = sum[size_t(c * dim + j)] / double(count[size_t(c)]);
  }
  return assign;
}
}  // namespace

std::vector<int64_t> subclass_labels(const data::Dataset& ds, int64_t per_class, uint64_t seed,
                                     int iterations) {
  CONVKIT_CHECK(per_class >= 1, "subclass_labels: per_class must be >= 1, got ", per_class);
  const std::vector<int64_t> labels = ds.labels();
  std::vector<int64_t> out(labels.size());
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(int64_t(i));
  Generator gen(seed);
  for (const auto& [label, idx] : by_class) {
    const data::Batch b = ds.get_batch(idx);
    const Tensor x = b.inputs.reshape({int64_t(idx.size()), -1}).to(DType::f32);
    const int64_t k = std::min<int64_t>(per_class, int64_t(idx.size()));
    const std::vector<int64_t> a =
        kmeans(x.data<float>(), int64_t(idx.size()), x.size(1), k, gen, iterations);
    for (size_t j = 0; j < idx.size(); ++j) out[size_t(idx[j])] = label * per_class + a[j];
  }
  return out;
}

Relabelled::Relabelled(data::DatasetPtr base, std::vector<int64_t> labels)
    : base_(std::move(base)), labels_(std::move(labels)) {
  CONVKIT_CHECK(int64_t(labels_.size()) == base_->size(), "Relabelled: ", labels_.size(),
                " labels for a data set of ", base_->size(), " examples");
  for (int64_t l : labels_) num_classes_ = std::max(num_classes_, l + 1);
}

data::Batch Relabelled::relabel(data::Batch b, const std::vector<int64_t>& indices) const {
  std::vector<int64_t> l;
  for (int64_t i : indices) l.push_back(labels_[size_t(i)]);
  b.labels = Tensor::from_vector(l, {int64_t(l.size())});
  return b;
}

data::Batch Relabelled::get_batch(const std::vector<int64_t>& indices) const {
  return relabel(base_->get_batch(indices), indices);
}

data::Batch Relabelled::get_epoch_batch(const std::vector<int64_t>& indices,
                                        uint64_t epoch_seed) const {
  return relabel(base_->get_epoch_batch(indices, epoch_seed), indices);
}

}  // namespace convkit::embed
