#pragma once
// `convkit train --metadata-columns`: an image + metadata model (docs/transfer.md).
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/image_dataset.h"
#include "convkit/train/setup.h"
#include "image_data.h"

namespace convkit::cli {

// Trains models::ImageMetadataNet with `o.model` as the image branch on the CSV list `list`
// (the metadata columns `columns`, e.g. "age,site:cat"), evaluates `test` (may be null; read from
// its own list `test_list`) at the end, and writes checkpoints whose metadata carries the schema.
void train_with_metadata(const train::TrainOptions& o, const std::string& columns,
                         const std::string& list, std::shared_ptr<data::ImageDataset> images,
                         const std::string& test_list, std::shared_ptr<data::ImageDataset> test,
                         const std::string& progress);

// True when `path` is a weights file `train --metadata-columns` wrote (its model is
// "image_metadata:NAME"); false for anything else, unreadable files included (their own command
// path reports those).
bool is_metadata_checkpoint(const std::string& path);
// `convkit eval` of such a checkpoint on a .csv list holding the columns it was trained with:
// loss, top-1 and top-5 over the list's images. Throws naming the file when it is not a .csv
// list, a column is missing or a category was never seen in training.
void eval_with_metadata(const std::string& path, const std::string& list,
                        const ImageDataArgs& images);

// `convkit predict` of such a checkpoint: top-k for the rows `rows` of the .csv list (all rows
// when empty), with each row's true class.
void predict_with_metadata(const std::string& path, const std::string& list,
                           const std::vector<int64_t>& rows, int64_t k,
                           const ImageDataArgs& images);

}  // namespace convkit::cli
