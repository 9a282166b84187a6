#include "convkit/train/classification_data.h"

#include "convkit/data/augmented.h"
#include "convkit/data/image_dataset.h"

namespace convkit::train {

ClassificationData prepare_classification_data(const data::DatasetPtr& full,
                                               const data::DatasetPtr& test,
                                               const ClassificationDataOptions& o) {
  CONVKIT_CHECK(full != nullptr, "prepare_classification_data: no training data");
  ClassificationData d;
  d.train = full;
  d.test = test;
  if (!o.val_indices.empty()) {
    std::vector<char> in_val(size_t(full->size()), 0);
    for (int64_t i : o.val_indices) {
      CONVKIT_CHECK(i >= 0 && i < full->size(), "prepare_classification_data: validation index ", i,
                    " is outside the ", full->size(), " examples");
      in_val[size_t(i)] = 1;
    }
    std::vector<int64_t> rest;
    for (int64_t i = 0; i < full->size(); ++i)
      if (!in_val[size_t(i)]) rest.push_back(i);
    CONVKIT_CHECK(!rest.empty(), "prepare_classification_data: nothing left to train on");
    d.train = std::make_shared<data::Subset>(full, rest);
    d.val = std::make_shared<data::Subset>(full, o.val_indices);
  } else if (o.val_fraction > 0) {
    std::tie(d.train, d.val) = data::train_val_split(full, o.val_fraction, o.seed);
  }
  // Statistics (standardization, colour PCA) come from the unaugmented training part.
  const data::DatasetPtr plain_train = d.train;
  if (data::TransformPtr t = o.augmentation ? o.augmentation(plain_train) : nullptr) {
    d.augmentation = t->describe();
    if (auto images = std::dynamic_pointer_cast<const data::ImageDataset>(full)) {
      // Image sets transform the decoded image before it is resized to the model's input, so the
      // transform may change the size; the validation half keeps the plain dataset.
      auto augmented = images->with_transform(t);
      if (auto* part = dynamic_cast<const data::Subset*>(d.train.get()))
        d.train = std::make_shared<data::Subset>(augmented, part->indices());
      else
        d.train = augmented;
    } else {
      d.train = std::make_shared<data::Augmented>(d.train, t);
    }
  }
  if (o.normalize) {
    // Statistics of the training part only; validation and test get the same transform.
    d.stats = data::channel_stats(*plain_train);
    d.train = std::make_shared<data::Normalized>(d.train, d.stats);
    if (d.val) d.val = std::make_shared<data::Normalized>(d.val, d.stats);
    if (d.test) d.test = std::make_shared<data::Normalized>(d.test, d.stats);
  }
  return d;
}

}  // namespace convkit::train
