#pragma once
// The augmentation flags shared by `convkit train` and `convkit augment-preview`.
#include <CLI/CLI.hpp>

#include "convkit/data/dataset.h"
#include "convkit/data/recipe.h"

namespace convkit::cli {

void add_augment_options(CLI::App& cmd, data::AugmentFlags& flags);

// The training transform the flags ask for (nullptr: none); pca_lighting's colour statistics come
// from up to 2,000 images of `train_set` (unaugmented).
data::TransformPtr augmentation_for(const data::AugmentFlags& flags,
                                    const data::DatasetPtr& train_set);

}  // namespace convkit::cli
