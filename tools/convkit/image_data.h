#pragma once
// `--data` for image sets: a folder of class folders or a .csv list (docs/data.md), shared by
// train, eval and predict. A folder holding MNIST-layout IDX files stays an IDX data set.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "convkit/data/image_dataset.h"
#include "convkit/infer/bundle.h"

namespace convkit::cli {

struct ImageDataArgs {
  int64_t image_size = 32;  // train only; eval/predict take the model's
  int64_t load_size = 0;
  bool grayscale = false;
  double cache_mib = 0;
  bool strict = false;
  int64_t max_pixels = data::kDefaultMaxPixels;
};

// --cache, --strict, --max-pixels; with `training` also --image-size, --load-size, --grayscale.
void add_image_data_options(CLI::App& cmd, ImageDataArgs& args, bool training);

// True for a .csv file or a folder without MNIST-layout IDX files.
bool is_image_data(const std::string& path);

// Opens the image set at `path` with the policy and cache of `args`, printing each data problem to
// stderr as a warning (the first 50; the epoch summary counts them all). `classes`: the names a
// trained model was saved with (empty: the classes found).
std::shared_ptr<data::ImageDataset> open_image_data(const std::string& path,
                                                    const data::ImagePreprocessing& prep,
                                                    const ImageDataArgs& args,
                                                    const std::vector<std::string>& classes = {});

// The data a trained model is evaluated on (eval, predict --index): `path` is an image folder or a
// .csv list (opened with the model's classes and preprocessing), or a folder of MNIST-layout IDX
// files (its `split`); empty: Fashion-MNIST, for models trained on it. Prints the one-line
// description of an image set. Throws when the set's classes, channels or size do not fit the
// model, and when a model trained on image files meets IDX data (asking for --data).
struct ModelData {
  std::string name;                            // how messages name the data
  std::shared_ptr<data::ImageDataset> images;  // null for IDX data
  data::DatasetPtr inputs;                     // standardized as in training
};
ModelData data_for_model(const infer::ModelBundle& m, const std::string& path,
                         const std::string& split, const ImageDataArgs& args);

// One line about an opened image set: images, classes, skipped and converted files.
std::string describe_image_data(const std::string& path, const data::ImageDataset& ds);

}  // namespace convkit::cli
