#pragma once
// The augmentation interface: one random transformation of an 8-bit OpenCV image.
//
// Images are cv::Mat of CV_8UC1 (grayscale) or CV_8UC3 in RGB order (decoders convert from
// OpenCV's BGR once, at load). A transform draws all its randomness from the generator it is given;
// the dataset seeds that generator per example from (epoch seed, example index), which makes
// augmentation reproducible and independent of how many threads decode.
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "convkit/random.h"

namespace convkit::data {

class Transform {
 public:
  virtual ~Transform() = default;
  // Returns the transformed image (may share data with `image` when it is unchanged).
  virtual cv::Mat apply(const cv::Mat& image, Generator& rng) const = 0;
  // One line for logs and the recipe echo, e.g. "random_crop(size=32, padding=4, fill=constant)".
  virtual std::string describe() const = 0;
};
using TransformPtr = std::shared_ptr<const Transform>;

// The seed of example `index`'s generator in the epoch whose loader seed is `epoch_seed`
// (DataLoader::epoch_seed). Every dataset that augments seeds Generator(example_seed(...)) with it,
// so an example's augmentation depends on nothing but these two numbers.
uint64_t example_seed(uint64_t epoch_seed, int64_t index);

}  // namespace convkit::data
