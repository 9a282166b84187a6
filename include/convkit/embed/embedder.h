#pragma once
// A trained embedding model for inference: image files or standardized inputs -> L2-normalised
// embeddings, and the verification threshold chosen after training (docs/similarity.md).
//
// An embedding checkpoint is a convkit weights file (infer/bundle.h) whose registry model was built
// with num_classes = d, plus the metadata entry "embedding", a JSON object:
//   {"dim": d, "loss": "triplet", "mining": "semihard", "margin": 0.2,
//    "threshold": t (optional: distance at or below which a pair is the same identity, chosen on
//    validation pairs by `convkit train --task embed`)}
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/embed/embedding_task.h"
#include "convkit/infer/session.h"

namespace convkit::embed {

class Embedder {
 public:
  // Throws naming the file when its metadata has no "embedding" entry (a classifier, not an
  // embedding model) or the entry is malformed, or when dim differs from the model's output size.
  explicit Embedder(infer::ModelBundle bundle);
  // Standardized inputs [N, C, H, W] -> embeddings [N, d], unit rows.
  Tensor embed(const Tensor& inputs) const;
  // Image files prepared as in training (infer::preprocess_file; errors name the file).
  Tensor embed_files(const std::vector<std::string>& paths) const;
  // Every example of a (standardized) dataset, in order, `batch` at a time.
  EmbeddedSet embed_dataset(const data::Dataset& ds, int64_t batch = 256) const;

  const infer::ModelBundle& bundle() const { return session_.bundle(); }
  int64_t dim() const { return dim_; }
  // The threshold saved with the model, if any.
  std::optional<double> threshold() const { return threshold_; }

 private:
  infer::Session session_;
  int64_t dim_ = 0;
  std::optional<double> threshold_;
};

}  // namespace convkit::embed
