#pragma once
// `--data` for image sets: a folder of class folders or a .csv list (docs/data.md), shared by
// train, eval and predict. A folder holding MNIST-layout IDX files stays an IDX data set.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "convkit/data/image_dataset.h"
#include "convkit/train/checkpoint.h"

namespace convkit::cli {

struct ImageDataArgs {
  int64_t image_size = 32;  // train only; eval/predict take the checkpoint's
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

// How the model's training prepared image files: the checkpoint config's "preprocessing", or for a
// model trained on tensors, its input size and channels (shorter side resized, centre crop).
data::ImagePreprocessing preprocessing_of(const train::LoadedModel& m);

// The image set at `path` for a trained model: its classes, its preprocessing, standardized as in
// training; prints the one-line description. Throws when the set's classes do not fit the model.
struct ModelImageData {
  std::shared_ptr<data::ImageDataset> images;
  data::DatasetPtr inputs;  // `images`, standardized
};
ModelImageData image_data_for_model(const train::LoadedModel& m, const std::string& path,
                                    const ImageDataArgs& args);

// One line about an opened image set: images, classes, skipped and converted files.
std::string describe_image_data(const std::string& path, const data::ImageDataset& ds);

}  // namespace convkit::cli
