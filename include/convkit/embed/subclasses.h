#pragma once
// Finer identities for embedding training: each class split into pseudo-identities by k-means on
// its examples' pixels. A triplet loss over whole classes only has to tell the training classes
// apart, and collapses everything else about an image; separating look-alike groups inside a class
// keeps the shape detail that classes never seen in training are told apart by (docs/similarity.md
// measures it on the unseen-class protocol).
#include <cstdint>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::embed {

// Label per example: class c's examples get labels c * per_class + cluster, cluster in
// [0, per_class), from Lloyd's k-means (k-means++ seeding from `seed`, `iterations` rounds) on the
// flattened inputs of that class. A class with fewer than per_class examples keeps one cluster per
// example. Throws when per_class < 1.
std::vector<int64_t> subclass_labels(const data::Dataset& ds, int64_t per_class, uint64_t seed,
                                     int iterations = 10);

// `base` with its labels replaced by `labels` (one per example); everything else forwarded.
class Relabelled : public data::Dataset {
 public:
  // Throws when labels.size() differs from base->size().
  Relabelled(data::DatasetPtr base, std::vector<int64_t> labels);
  int64_t size() const override { return base_->size(); }
  Shape example_shape() const override { return base_->example_shape(); }
  int64_t num_classes() const override { return num_classes_; }
  data::Batch get_batch(const std::vector<int64_t>& indices) const override;
  data::Batch get_epoch_batch(const std::vector<int64_t>& indices,
                              uint64_t epoch_seed) const override;
  std::vector<int64_t> labels() const override { return labels_; }
  int64_t skipped_files() const override { return base_->skipped_files(); }

 private:
  data::Batch relabel(data::Batch b, const std::vector<int64_t>& indices) const;
  data::DatasetPtr base_;
  std::vector<int64_t> labels_;
  int64_t num_classes_ = 0;
};

}  // namespace convkit::embed
