#pragma once
// Augmentation of in-memory tensor datasets (Fashion-MNIST): float [C, H, W] in [0, 1] -> 8-bit
// cv::Mat -> transform -> float, per example, seeded by (epoch seed, example index).
#include <opencv2/core.hpp>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/transform.h"

namespace convkit::data {

// [C, H, W] float intensities in [0, 1] (C = 1 or 3, RGB) -> an 8-bit H x W image of C channels
// (value * 255, rounded; values outside [0, 1] saturate).
cv::Mat chw_to_image(const float* chw, int64_t channels, int64_t height, int64_t width);
// The inverse: an 8-bit image of C channels -> [C, H, W] floats (value / 255) written to `chw`.
void image_to_chw(const cv::Mat& image, float* chw);

// `base` with `transform` applied to every example of every training batch (get_epoch_batch);
// get_batch returns the examples as they are (statistics, previews of the originals). The transform
// must keep the example's size and channel count (Augmented's example shape is base's); to change
// the size, transform the images before they become tensors (an image-folder dataset).
// Example i of a batch uses Generator(example_seed(epoch_seed, i)) and nothing else.
class Augmented : public Dataset {
 public:
  // Throws unless examples are [C, H, W] with C = 1 or 3 and `transform` is set.
  Augmented(DatasetPtr base, TransformPtr transform);
  int64_t size() const override { return base_->size(); }
  Shape example_shape() const override { return base_->example_shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  // Throws naming the example and the transform when an output's size or channels differ.
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  std::vector<int64_t> labels() const override { return base_->labels(); }
  const Transform& transform() const { return *transform_; }

 private:
  DatasetPtr base_;
  TransformPtr transform_;
};

// Up to `count` examples of `ds` at evenly spaced indices, unaugmented, as 8-bit images (for
// color_pca and previews). Examples must be [C, H, W] floats in [0, 1] with C = 1 or 3.
std::vector<cv::Mat> sample_images(const Dataset& ds, int64_t count);

}  // namespace convkit::data
