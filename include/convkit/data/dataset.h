#pragma once
// Datasets: random access to labelled examples, and batches of them.
//
// A dataset returns whole batches (get_batch) so that in-memory sets copy rows in one pass and
// decoding sets (image folders, a later issue) can spread the work over threads; get() is the
// one-example convenience built on it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::data {

struct Batch {
  Tensor inputs;                 // float32 [B, ...example shape]: the (first) model input
  Tensor labels;                 // int64 [B] class labels (undefined for tasks without them)
  std::vector<int64_t> indices;  // dataset indices of the rows, in order
  // Further model inputs by name, each [B, ...] (e.g. "features" [B, F] beside an image): a Task
  // hands the ones its model takes to the model's own forward method.
  std::map<std::string, Tensor> extra_inputs{};
  // Targets other than class labels by name, each [B, ...] (e.g. "boxes", "embedding"): the Task
  // reads the ones its loss needs.
  std::map<std::string, Tensor> targets{};
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Shape of one example's input (e.g. [1, 28, 28]).
  virtual Shape example_shape() const = 0;
  virtual int64_t num_classes() const = 0;
  // Class names, index = label; empty names fall back to the label number.
  virtual std::vector<std::string> class_names() const { return {}; }
  // The examples at `indices` stacked along a new dim 0. Throws naming an out-of-range index.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
  Batch get(int64_t index) const { return get_batch({index}); }
  // The batch as seen in one training epoch. Datasets with random per-example transforms
  // (augmentation) derive example i's generator from (epoch_seed, i) alone, so a batch depends only
  // on the seed and its indices, never on the thread or worker that assembled it. Plain datasets
  // ignore the seed; wrappers forward it.
  virtual Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const {
    (void)epoch_seed;
    return get_batch(indices);
  }
  // Labels of every example, for stratified splits and class counts.
  virtual std::vector<int64_t> labels() const;
  // Files of a file-backed dataset left out or replaced because they could not be used (corrupt,
  // truncated, ...; docs/data.md); wrappers forward it, in-memory datasets have none.
  virtual int64_t skipped_files() const { return 0; }
};
using DatasetPtr = std::shared_ptr<const Dataset>;

// Examples held in memory: inputs [N, ...] float32, labels [N] int64.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor labels, int64_t num_classes = -1,
                std::vector<std::string> class_names = {});
  int64_t size() const override { return inputs_.size(0); }
  Shape example_shape() const override;
  int64_t num_classes() const override { return num_classes_; }
  std::vector<std::string> class_names() const override { return names_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  std::vector<int64_t> labels() const override;
  const Tensor& inputs() const { return inputs_; }
  // A further model input [N, ...] (any dtype) that batches carry as extra_inputs[name] (before
  // the dataset is shared: datasets are used as const). Throws when N differs or `name` is taken.
  void add_extra_input(const std::string& name, Tensor values);

 private:
  Tensor inputs_, labels_;
  std::map<std::string, Tensor> extra_;
  int64_t num_classes_;
  std::vector<std::string> names_;
};

// A view of a dataset restricted to some of its indices (splits, folds).
class Subset : public Dataset {
 public:
  Subset(DatasetPtr base, std::vector<int64_t> indices);
  int64_t size() const override { return int64_t(indices_.size()); }
  Shape example_shape() const override { return base_->example_shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  std::vector<int64_t> labels() const override;
  int64_t skipped_files() const override { return base_->skipped_files(); }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::vector<int64_t> map(const std::vector<int64_t>& indices) const;
  DatasetPtr base_;
  std::vector<int64_t> indices_;
};

// Splits into (train, validation) with `val_fraction` of the examples in validation, shuffled by
// `seed`. Stratified: each class is split in the same proportion.
std::pair<DatasetPtr, DatasetPtr> train_val_split(const DatasetPtr& ds, double val_fraction,
                                                  uint64_t seed);

// K stratified folds of `labels`' indices for cross-validation: each class is shuffled by `seed`
// and dealt round-robin, starting where the previous class stopped, so every class's count and
// every fold's size differ by at most one between folds. Each fold is sorted; together they are a
// partition of [0, N). Throws when k < 2 or k > N.
std::vector<std::vector<int64_t>> stratified_folds(const std::vector<int64_t>& labels, int64_t k,
                                                   uint64_t seed);

// Per-channel mean and standard deviation of every example's input [C, ...] over the dataset.
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_stats(const Dataset& ds);

// The examples of `base` with each channel standardized: (x - mean[c]) / std[c]. The statistics
// come from the training set and travel with the model (checkpoint metadata "normalization").
class Normalized : public Dataset {
 public:
  Normalized(DatasetPtr base, ChannelStats stats);
  int64_t size() const override { return base_->size(); }
  Shape example_shape() const override { return base_->example_shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  std::vector<int64_t> labels() const override { return base_->labels(); }
  int64_t skipped_files() const override { return base_->skipped_files(); }
  const ChannelStats& stats() const { return stats_; }

 private:
  Batch standardize(Batch b) const;
  DatasetPtr base_;
  ChannelStats stats_;
};

// Fashion-MNIST (or MNIST) split from `dir` as a TensorDataset with the ten class names.
DatasetPtr fashion_mnist(const std::string& dir, bool train);

}  // namespace convkit::data
