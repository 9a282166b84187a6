// DetectionDataset (contract in include/convkit/data/detection.h): decode, augment with the boxes,
// resize to S x S with the boxes, pad the box targets to max_objects.
#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "convkit/data/detection.h"
#include "convkit/data/transform.h"
#include "convkit/error.h"

namespace convkit::data {

Tensor detection_input(const cv::Mat& rgb, int64_t S) {
  CONVKIT_CHECK(rgb.type() == CV_8UC3, "detection_input: expected an 8-bit RGB image");
  cv::Mat resized;
  cv::resize(rgb, resized, cv::Size(int(S), int(S)), 0, 0,
             S < rgb.cols || S < rgb.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
  Tensor out = Tensor::empty({3, S, S});
  float* dst = out.data<float>();
  // [S, S, 3] uint8 HWC -> [3, S, S] float CHW in [0, 1]
  for (int64_t y = 0; y < S; ++y) {
    const uint8_t* row = resized.ptr<uint8_t>(int(y));
    for (int64_t x = 0; x < S; ++x)
      for (int64_t c = 0; c < 3; ++c) dst[(c * S + y) * S + x] = row[3 * x + c] / 255.0f;
  }
  return out;
}

DetectionDataset::DetectionDataset(DetectionList list, int64_t image_size, int64_t max_objects)
    : list_(std::make_shared<const DetectionList>(std::move(list))),
      image_size_(image_size),
      max_objects_(max_objects) {
  CONVKIT_CHECK(image_size >= 1, "DetectionDataset: image_size must be >= 1, got ", image_size);
  CONVKIT_CHECK(!list_->images.empty(), "DetectionDataset: the list has no images");
  int64_t most = 0;
  for (const DetectionImage& im : list_->images) most = std::max(most, int64_t(im.objects.size()));
  if (max_objects_ == 0) max_objects_ = std::max<int64_t>(most, 1);
  CONVKIT_CHECK(most <= max_objects_, "DetectionDataset: an image has ", most,
                " objects but max_objects is ", max_objects_, "; raise max_objects");
}

std::vector<int64_t> DetectionDataset::labels() const {
  std::vector<int64_t> out;
  for (const DetectionImage& im : list_->images)
    out.push_back(im.objects.empty() ? -1 : im.objects[0].label);
  return out;
}

Batch DetectionDataset::get_batch(const std::vector<int64_t>& indices) const {
  return assemble(indices, nullptr);
}

Batch DetectionDataset::get_epoch_batch(const std::vector<int64_t>& indices,
                                        uint64_t epoch_seed) const {
  return assemble(indices, augment_ ? &epoch_seed : nullptr);
}

std::shared_ptr<DetectionDataset> DetectionDataset::with_augmentation(
    const BoxAugmentOptions& options) const {
  check_box_augment_options(options);
  auto d = std::make_shared<DetectionDataset>(*this);
  d->augment_ = std::make_shared<const BoxAugmentOptions>(options);
  return d;
}

Batch DetectionDataset::assemble(const std::vector<int64_t>& indices,
                                 const uint64_t* epoch_seed) const {
  const int64_t B = int64_t(indices.size()), S = image_size_, M = max_objects_;
  Batch batch;
  batch.inputs = Tensor::empty({B, 3, S, S});
  batch.labels = Tensor::empty({B}, DType::i64);
  Tensor boxes = Tensor::zeros({B, M, 4});
  Tensor box_labels = Tensor::full({B, M}, -1, DType::i64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = indices[size_t(b)];
    CONVKIT_CHECK(i >= 0 && i < size(), "DetectionDataset: index ", i, " is outside [0, ", size(),
                  ")");
    const DetectionImage& entry = list_->images[size_t(i)];
    cv::Mat image = read_image(entry.path, ColorMode::rgb).image;
    std::vector<ObjectBox> objects = entry.objects;
    if (epoch_seed) {
      Generator gen(example_seed(*epoch_seed, i));
      augment_with_boxes(image, objects, *augment_, gen);
    }
    const double sx = double(S) / image.cols, sy = double(S) / image.rows;
    const Tensor input = detection_input(image, S);
    std::copy_n(input.data<float>(), 3 * S * S, batch.inputs.data<float>() + b * 3 * S * S);
    batch.labels.data<int64_t>()[b] = objects.empty() ? -1 : objects[0].label;
    for (std::size_t k = 0; k < objects.size(); ++k) {
      const detect::Box& o = objects[k].box;
      float* r = boxes.data<float>() + (b * M + int64_t(k)) * 4;
      r[0] = float(o.x1 * sx), r[1] = float(o.y1 * sy), r[2] = float(o.x2 * sx),
      r[3] = float(o.y2 * sy);
      box_labels.data<int64_t>()[b * M + int64_t(k)] = objects[k].label;
    }
  }
  batch.indices = indices;
  batch.targets["boxes"] = boxes;
  batch.targets["box_labels"] = box_labels;
  return batch;
}

}  // namespace convkit::data
