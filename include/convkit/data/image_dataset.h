#pragma once
// A Dataset over image files (an ImageSource): decoding through OpenCV, resizing to the model's
// input size, optional training augmentation, an optional cache, and a bad-data policy.
//
// One example, from file to tensor (docs/data.md):
//   decode (8-bit RGB or gray) -> resize so the shorter side is `load_size` (area interpolation
//   when shrinking, bilinear when enlarging) -> [cache] -> training only: the transform -> resize
//   so the shorter side is `image_size` if it is not, and crop the centre image_size x image_size
//   -> float32 [C, image_size, image_size] with values in [0, 1].
// With load_size = image_size (the default) this is torchvision's Resize(S) + CenterCrop(S);
// load_size 256 with image_size 224 is its ImageNet evaluation transform.
//
// Bad data: a file that cannot be used (image_file.h's ImageProblem) is reported once, with its
// path, through `on_issue`. Policy `skip` (default): files found bad by the scan at construction
// are left out; a file found bad when decoded is replaced by the next usable file of the same class
// (in the source's order, wrapping around), so a batch never carries a wrong label and depends only
// on the files, not on threads or timing. Policy `strict`: the first problem throws ImageFileError
// naming the path. A grayscale file in an RGB set is converted (R = G = B) and reported under
// `skip`, and an error under `strict`. A class folder without usable images is reported (the class
// keeps its label, so outputs stay aligned with the folder names); under `strict` it is an error.
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/image_file.h"
#include "convkit/data/image_source.h"
#include "convkit/data/transform.h"

namespace convkit::data {

// How files become model inputs; saved with a trained model (checkpoint config "preprocessing") so
// that `predict IMAGE` prepares a file exactly as training did.
struct ImagePreprocessing {
  int64_t image_size = 32;  // output height = width
  int64_t load_size = 0;    // shorter side after decoding; 0: image_size
  ColorMode color = ColorMode::rgb;

  int64_t channels() const { return color == ColorMode::gray ? 1 : 3; }
  int64_t effective_load_size() const { return load_size > 0 ? load_size : image_size; }
  std::string to_json() const;  // {"image_size": 32, "load_size": 32, "color": "rgb"}
  // Throws naming the problem when `json` is malformed.
  static ImagePreprocessing from_json(const std::string& json);
};

// Resizes so that the shorter side is `size` (aspect kept; INTER_AREA shrinking, INTER_LINEAR
// enlarging); returns `image` itself when it already is.
cv::Mat resize_shorter_side(const cv::Mat& image, int64_t size);
// The centered size x size window (a view); the image's shorter side must be >= size.
cv::Mat crop_center_square(const cv::Mat& image, int64_t size);
// A file -> the model input [C, S, S] as `prep` says (decoding errors throw ImageFileError).
Tensor load_input_image(const std::string& path, const ImagePreprocessing& prep,
                        int64_t max_pixels = kDefaultMaxPixels);

enum class BadDataPolicy { skip, strict };

// One problem found in the data, reported once per file (or class folder).
struct DataIssue {
  std::string path;
  ImageProblem problem;
  std::string message;  // starts with the path
  std::string action;   // "skipped", "replaced by <path>", "converted", "kept (empty class)"
};

struct ImageDatasetOptions {
  ImagePreprocessing preprocessing;
  BadDataPolicy policy = BadDataPolicy::skip;
  int64_t max_pixels = kDefaultMaxPixels;  // larger images are bad data (ImageProblem::too_large)
  // Decoded images (after the load resize) kept in memory, up to this many bytes in total; 0: none.
  // The first images decoded fill it; none is evicted (epochs visit examples in random order, where
  // eviction by recency gains nothing).
  int64_t cache_bytes = 0;
  // Threads decoding one batch (each example is written to its own slot, so the batch does not
  // depend on the count).
  int threads = 1;
  // Check every file at construction (size, signature, header size limit, end marker; reads at most
  // 68 KiB per file). Without it, problems surface at decode time.
  bool scan = true;
  // Called once per problem, possibly from a loader thread (calls are serialized).
  std::function<void(const DataIssue&)> on_issue;
};

class ImageDataset : public Dataset {
 public:
  // Scans the source (unless options.scan is off) and applies the bad-data policy. Throws when
  // nothing usable is left, or under `strict` on the first problem.
  ImageDataset(const ImageSource& source, ImageDatasetOptions options);

  int64_t size() const override;
  Shape example_shape() const override;  // [C, image_size, image_size]
  int64_t num_classes() const override;
  std::vector<std::string> class_names() const override;
  std::vector<int64_t> labels() const override;
  // Unaugmented examples (validation, evaluation, statistics).
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  // With the transform, if any: example i's generator is Generator(example_seed(epoch_seed, i)).
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  int64_t skipped_files() const override;

  // The same files, cache and issue log with `transform` applied in get_epoch_batch (the training
  // half of a split shares everything with the validation half except the augmentation). The
  // transform must keep 1 or 3 channels as the data set has; its output size may differ (it is
  // resized and centre-cropped to image_size afterwards).
  std::shared_ptr<ImageDataset> with_transform(TransformPtr transform) const;

  // The image of example `index` after decoding and the load resize (8-bit, RGB or gray), with the
  // bad-data policy applied (so it may be a same-class replacement).
  cv::Mat image(int64_t index) const;
  const ImageEntry& entry(int64_t index) const;
  const ImagePreprocessing& preprocessing() const;
  // Every problem reported so far, sorted by path.
  std::vector<DataIssue> issues() const;
  int64_t converted_files() const;  // grayscale files converted to RGB
  int64_t cached_images() const;

  struct State;  // shared by the datasets with_transform makes

 private:
  ImageDataset(std::shared_ptr<State> state, TransformPtr transform);
  Batch assemble(const std::vector<int64_t>& indices, const uint64_t* epoch_seed) const;

  std::shared_ptr<State> state_;
  TransformPtr transform_;
};

}  // namespace convkit::data
