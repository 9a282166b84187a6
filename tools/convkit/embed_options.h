#pragma once
// The options of `convkit train --task embed` and `convkit eval --task embed` (docs/similarity.md),
// kept apart from the classification options they sit beside.
#include <CLI/CLI.hpp>
#include <string>

#include "convkit/data/recipe.h"
#include "convkit/train/setup.h"

namespace convkit::cli {

struct EmbedArgs {
  std::string loss = "triplet";  // triplet | contrastive
  std::string mining = "semihard";
  std::string pk = "7,8";  // P classes x K examples per batch (7: Fashion-MNIST 0-6 fits)
  double margin = 0.2;
  int64_t dim = 64;
  std::string train_classes;  // empty: every class
  int64_t val_pairs = 2000;
  int64_t subclasses = 0;  // > 1: pseudo-identities per class by k-means (embed/subclasses.h)
};

// --task (classify | embed), and the embedding options of train (--loss, --mining, --pk, --margin,
// --embedding-dim,
// --train-classes).
void add_embed_train_options(CLI::App& cmd, EmbedArgs& args);

// The embedding run of `convkit train --task embed`: the dataset's classes `train_classes`, a P x K
// sampler, the registry model with num_classes = dim, EmbeddingTask; then the threshold of best
// validation accuracy is written into the best and last weights' "embedding" metadata.
// `full`: the training images (IDX files, an image folder or a CSV list, opened as train opens
// them; o.preprocessing set for images).
void run_train_embed(const EmbedArgs& e, train::TrainOptions o, data::DatasetPtr full,
                     bool normalize, const data::AugmentFlags& augment);

}  // namespace convkit::cli
