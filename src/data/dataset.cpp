#include "convkit/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "convkit/data/idx.h"
#include "convkit/random.h"

namespace convkit::data {

std::vector<int64_t> Dataset::labels() const {
  std::vector<int64_t> all(size());
  for (int64_t i = 0; i < size(); ++i) all[i] = get(i).labels.data<int64_t>()[0];
  return all;
}

TensorDataset::TensorDataset(Tensor inputs, Tensor labels, int64_t num_classes,
                             std::vector<std::string> class_names)
    : inputs_(std::move(inputs)), labels_(std::move(labels)), names_(std::move(class_names)) {
  CONVKIT_CHECK(inputs_.defined() && inputs_.ndim() >= 1 && inputs_.dtype() == DType::f32,
                "TensorDataset: inputs must be a float32 tensor [N, ...]");
  CONVKIT_CHECK(labels_.defined() && labels_.ndim() == 1 && labels_.dtype() == DType::i64,
                "TensorDataset: labels must be an int64 tensor [N]");
  CONVKIT_CHECK(labels_.size(0) == inputs_.size(0), "TensorDataset: ", inputs_.size(0),
                " inputs but ", labels_.size(0), " labels (shapes ",
                shapes_str({&inputs_, &labels_}), ")");
  const int64_t* l = labels_.data<int64_t>();
  int64_t max_label = -1;
  for (int64_t i = 0; i < labels_.numel(); ++i) {
    CONVKIT_CHECK(l[i] >= 0, "TensorDataset: negative label ", l[i], " at index ", i);
    max_label = std::max(max_label, l[i]);
  }
  num_classes_ = num_classes > 0 ? num_classes : max_label + 1;
  CONVKIT_CHECK(max_label < num_classes_, "TensorDataset: label ", max_label,
                " is out of range for ", num_classes_, " classes");
}

Shape TensorDataset::example_shape() const {
  std::vector<int64_t> d(inputs_.shape().begin() + 1, inputs_.shape().end());
  return Shape(d);
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = int64_t(indices.size());
  std::vector<int64_t> dims{n};
  for (int64_t d : example_shape()) dims.push_back(d);
  Batch b{Tensor::empty(Shape(dims)), Tensor::empty({n}, DType::i64), indices};
  const int64_t row = example_shape().numel();
  const float* src = inputs_.data<float>();
  float* dst = b.inputs.data<float>();
  for (int64_t k = 0; k < n; ++k) {
    int64_t i = indices[k];
    CONVKIT_CHECK(i >= 0 && i < size(), "TensorDataset: index ", i, " out of range for ", size(),
                  " examples");
    std::memcpy(dst + k * row, src + i * row, sizeof(float) * row);
    b.labels.data<int64_t>()[k] = labels_.data<int64_t>()[i];
  }
  for (const auto& [name, all] : extra_) {
    Shape shape = all.shape();
    shape[0] = n;
    Tensor t = Tensor::empty(shape, all.dtype());
    const size_t bytes = all.nbytes() / size_t(all.size(0));
    for (int64_t k = 0; k < n; ++k)
      std::memcpy(static_cast<char*>(t.raw_data()) + size_t(k) * bytes,
                  static_cast<const char*>(all.raw_data()) + size_t(indices[k]) * bytes, bytes);
    b.extra_inputs[name] = t;
  }
  return b;
}

void TensorDataset::add_extra_input(const std::string& name, Tensor values) {
  CONVKIT_CHECK(values.defined() && values.ndim() >= 1 && values.size(0) == size(),
                "TensorDataset: extra input '", name, "' must be [", size(), ", ...], got ",
                values.defined() ? values.shape().to_string() : std::string("undefined"));
  CONVKIT_CHECK(!extra_.count(name), "TensorDataset: extra input '", name, "' is already set");
  extra_[name] = values;
}

std::vector<int64_t> TensorDataset::labels() const {
  const int64_t* l = labels_.data<int64_t>();
  return std::vector<int64_t>(l, l + labels_.numel());
}

Subset::Subset(DatasetPtr base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  for (int64_t i : indices_)
    CONVKIT_CHECK(i >= 0 && i < base_->size(), "Subset: index ", i, " out of range for ",
                  base_->size(), " examples");
}

std::vector<int64_t> Subset::map(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    CONVKIT_CHECK(indices[k] >= 0 && indices[k] < size(), "Subset: index ", indices[k],
                  " out of range for ", size(), " examples");
    mapped[k] = indices_[indices[k]];
  }
  return mapped;
}

Batch Subset::get_batch(const std::vector<int64_t>& indices) const {
  Batch b = base_->get_batch(map(indices));
  b.indices = indices;
  return b;
}

Batch Subset::get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const {
  Batch b = base_->get_epoch_batch(map(indices), epoch_seed);
  b.indices = indices;
  return b;
}

std::vector<int64_t> Subset::labels() const {
  // The base's labels, not the default's one-example-at-a-time reads (which would decode files).
  std::vector<int64_t> all = base_->labels(), mine(indices_.size());
  for (size_t k = 0; k < indices_.size(); ++k) mine[k] = all[size_t(indices_[k])];
  return mine;
}

namespace {
void shuffle(std::vector<int64_t>& v, Generator& gen) {
  // Fisher-Yates with our own generator, so the order is the same on every platform.
  for (int64_t i = int64_t(v.size()) - 1; i > 0; --i) {
    int64_t j = int64_t(gen.next_u64() % uint64_t(i + 1));
    std::swap(v[i], v[j]);
  }
}
}  // namespace

std::pair<DatasetPtr, DatasetPtr> train_val_split(const DatasetPtr& ds, double val_fraction,
                                                  uint64_t seed) {
  CONVKIT_CHECK(val_fraction >= 0 && val_fraction < 1,
                "train_val_split: val_fraction must lie in [0, 1), got ", val_fraction);
  std::map<int64_t, std::vector<int64_t>> by_class;
  std::vector<int64_t> labels = ds->labels();
  for (int64_t i = 0; i < int64_t(labels.size()); ++i) by_class[labels[i]].push_back(i);
  Generator gen(seed);
  std::vector<int64_t> train, val;
  for (auto& [label, idx] : by_class) {
    shuffle(idx, gen);
    auto n_val = int64_t(double(idx.size()) * val_fraction + 0.5);
    val.insert(val.end(), idx.begin(), idx.begin() + n_val);
    train.insert(train.end(), idx.begin() + n_val, idx.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {std::make_shared<Subset>(ds, train), std::make_shared<Subset>(ds, val)};
}

std::vector<std::vector<int64_t>> stratified_folds(const std::vector<int64_t>& labels, int64_t k,
                                                   uint64_t seed) {
  CONVKIT_CHECK(k >= 2 && k <= int64_t(labels.size()), "stratified_folds: ", k, " folds of ",
                labels.size(), " examples (need 2 <= folds <= examples)");
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < int64_t(labels.size()); ++i) by_class[labels[size_t(i)]].push_back(i);
  Generator gen(seed);
  std::vector<std::vector<int64_t>> folds(static_cast<size_t>(k));
  int64_t next = 0;
  for (auto& [label, idx] : by_class) {
    shuffle(idx, gen);
    for (int64_t i : idx) folds[size_t(next++ % k)].push_back(i);
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

ChannelStats channel_stats(const Dataset& ds) {
  const Shape ex = ds.example_shape();
  CONVKIT_CHECK(ex.ndim() >= 1 && ds.size() > 0, "channel_stats: empty dataset or scalar examples");
  const int64_t c = ex[0], per = ex.numel() / c;
  std::vector<double> s(c, 0.0), s2(c, 0.0);
  const int64_t chunk = 1024;
  for (int64_t begin = 0; begin < ds.size(); begin += chunk) {
    std::vector<int64_t> idx;
    for (int64_t i = begin; i < std::min(ds.size(), begin + chunk); ++i) idx.push_back(i);
    Batch b = ds.get_batch(idx);
    const float* p = b.inputs.data<float>();
    for (size_t k = 0; k < idx.size(); ++k)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t j = 0; j < per; ++j) {
          double v = p[(int64_t(k) * c + ch) * per + j];
          s[ch] += v;
          s2[ch] += v * v;
        }
  }
  ChannelStats st;
  const double n = double(ds.size()) * double(per);
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = s[ch] / n;
    st.mean.push_back(m);
    st.std.push_back(std::sqrt(std::max(s2[ch] / n - m * m, 1e-12)));
  }
  return st;
}

Normalized::Normalized(DatasetPtr base, ChannelStats stats)
    : base_(std::move(base)), stats_(std::move(stats)) {
  const int64_t c = base_->example_shape()[0];
  CONVKIT_CHECK(int64_t(stats_.mean.size()) == c && int64_t(stats_.std.size()) == c,
                "Normalized: ", stats_.mean.size(), " means and ", stats_.std.size(),
                " standard deviations for ", c, " channels");
  for (double sd : stats_.std)
    CONVKIT_CHECK(sd > 0, "Normalized: standard deviation must be positive, got ", sd);
}

Batch Normalized::get_batch(const std::vector<int64_t>& indices) const {
  return standardize(base_->get_batch(indices));
}

Batch Normalized::get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const {
  return standardize(base_->get_epoch_batch(indices, epoch_seed));
}

Batch Normalized::standardize(Batch b) const {
  const int64_t c = int64_t(stats_.mean.size());
  const int64_t per = b.inputs.numel() / std::max<int64_t>(b.inputs.size(0) * c, 1);
  float* p = b.inputs.data<float>();
  for (int64_t k = 0; k < b.inputs.size(0); ++k)
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto m = float(stats_.mean[ch]), inv = float(1.0 / stats_.std[ch]);
      float* q = p + (k * c + ch) * per;
      for (int64_t j = 0; j < per; ++j) q[j] = (q[j] - m) * inv;
    }
  return b;
}

DatasetPtr fashion_mnist(const std::string& dir, bool train) {
  LabelledImages split = load_mnist_split(dir, train);
  return std::make_shared<TensorDataset>(
      split.images, split.labels, 10,
      std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                               "Shirt", "Sneaker", "Bag", "Ankle boot"});
}

}  // namespace convkit::data
