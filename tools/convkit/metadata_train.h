#pragma once
// `convkit train --metadata-columns`: an image + metadata model (docs/transfer.md).
#include <memory>
#include <string>

#include "convkit/data/image_dataset.h"
#include "convkit/train/setup.h"

namespace convkit::cli {

// Trains models::ImageMetadataNet with `o.model` as the image branch on the CSV list `list`
// (the metadata columns `columns`, e.g. "age,site:cat"), evaluates `test` (may be null; read from
// its own list `test_list`) at the end, and writes checkpoints whose metadata carries the schema.
void train_with_metadata(const train::TrainOptions& o, const std::string& columns,
                         const std::string& list, std::shared_ptr<data::ImageDataset> images,
                         const std::string& test_list, std::shared_ptr<data::ImageDataset> test,
                         const std::string& progress);

}  // namespace convkit::cli
