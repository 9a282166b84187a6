#pragma once
// The training data of `convkit train`, assembled in the library so that a program reproduces it:
// a stratified train/validation split, the augmentation on the right wrapper (an image set
// transforms the decoded image before resizing; in-memory sets are wrapped in data::Augmented),
// and per-channel standardization with statistics of the unaugmented training part, applied to
// every split alike.
#include <functional>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/transform.h"

namespace convkit::train {

struct ClassificationDataOptions {
  double val_fraction = 0.1;  // 0: no validation split
  // When not empty: exactly these examples of `full` are the validation set (a cross-validation
  // fold, data::stratified_folds) and val_fraction is not used.
  std::vector<int64_t> val_indices = {};
  uint64_t seed = 1;      // of the split
  bool normalize = true;  // standardize with the training part's statistics
  // The training augmentation, built from the unaugmented training part (statistics such as the
  // colour PCA come from it); unset or returning null: none.
  std::function<data::TransformPtr(const data::DatasetPtr& plain_train)> augmentation = {};
};

struct ClassificationData {
  data::DatasetPtr train, val, test;  // val, test: null when absent
  data::ChannelStats stats;           // empty unless normalized
  std::string augmentation;           // describe() of the training transform; empty: none
};

// `full`: the labelled data to split; `test`: a separate test set (may be null).
ClassificationData prepare_classification_data(const data::DatasetPtr& full,
                                               const data::DatasetPtr& test,
                                               const ClassificationDataOptions& options);

}  // namespace convkit::train
