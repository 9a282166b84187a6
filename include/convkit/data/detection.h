#pragma once
// Detection data: images with any number of labelled boxes (docs/detection.md, "Data").
//
// Two readers produce the same DetectionList:
//  - a box CSV, one row per object: path,class,x1,y1,x2,y2 (pixels, xyxy, continuous coordinates:
//    a box covering pixel columns 3..7 is x1 = 3, x2 = 8). Paths are relative to the CSV's folder
//    (or absolute). An optional first line is a header (its coordinates are not numbers), so
//    make-shapes' boxes.csv (file,class,x_min,y_min,x_max,y_max) reads as it is. A row
//    `path,,,,,` lists an image without objects (a pure negative, valid). '#' lines are comments.
//  - Pascal VOC XML (one file per image: <filename>, <object><name>, <bndbox><xmin>...</bndbox>,
//    <difficult>); the image is <folder of the XML>/../JPEGImages/<filename> as in VOCdevkit, or
//    next to the XML when that file does not exist.
//
// Bad input (each reported once through on_issue with file and line, then handled as the policy
// says; under `strict` the first one throws convkit::Error with "file:line: ..."):
//   a box partly outside the image      -> clipped to the image ("clipped")
//   a box entirely outside, zero-area
//   after clipping, x2 < x1 or y2 < y1  -> the box is dropped ("box dropped")
//   an unknown class name (when the class list is given), a malformed row
//                                       -> the row is dropped ("row skipped")
//   a missing or unreadable image       -> the image and all its rows are dropped ("image skipped")
// Image sizes come from the file headers (check_image_file, no decoding).
#include <cstdint>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/image_dataset.h"
#include "convkit/detect/boxes.h"
#include "convkit/random.h"

namespace convkit::data {

struct ObjectBox {
  int64_t label = 0;  // index into DetectionList::class_names
  detect::Box box;    // pixels of the original image, xyxy
  bool difficult = false;
};

struct DetectionImage {
  std::string path;  // resolved image path
  int64_t width = 0, height = 0;
  std::vector<ObjectBox> objects;  // may be empty
};

struct BoxIssue {
  std::string file;  // the CSV or XML file
  int64_t line = 0;  // 1-based line of the CSV row (0 for XML)
  std::string message;
  std::string action;  // "clipped", "box dropped", "row skipped", "image skipped"
};

struct DetectionListOptions {
  // The classes, index = label. Empty: every name found, sorted (as class folders are).
  std::vector<std::string> class_names;
  BadDataPolicy policy = BadDataPolicy::skip;
  std::function<void(const BoxIssue&)> on_issue;
};

struct DetectionList {
  std::vector<std::string> class_names;
  std::vector<DetectionImage> images;  // in order of first appearance
  std::vector<BoxIssue> issues;        // every problem found, in reading order
  int64_t num_objects() const;
};

// Throws (naming the file) when it cannot be read or nothing usable is left, and under `strict` on
// the first problem.
DetectionList read_box_csv(const std::string& csv_path, const DetectionListOptions& options = {});
// The XML files given, or every *.xml in a folder (sorted) when one folder is given.
DetectionList read_voc_xml(const std::vector<std::string>& xml_paths,
                           const DetectionListOptions& options = {});

// Box-aware geometric augmentation: one affine map per example, x' = s * (flip ? W - x : x) + tx
// (the same for y without the flip, H for W), applied to the image (bilinear, border filled with
// `fill`) and to every box's corners; boxes are then clipped to the image, and dropped when less
// than `min_visible` of their transformed area remains inside or they have no area left.
struct BoxAugmentOptions {
  double hflip = 0.5;                       // probability of a horizontal flip
  double scale_min = 1.0, scale_max = 1.0;  // s uniform in [scale_min, scale_max]
  double translate = 0.0;                   // tx, ty uniform in +-translate * W (or H)
  double min_visible = 0.3;                 // fraction of a box that must stay in the image
  uint8_t fill = 114;                       // grey of the uncovered border
};
// Throws when an option is out of range.
void check_box_augment_options(const BoxAugmentOptions& options);
// Transforms `image` (any 8-bit channels) and `objects` in place.
void augment_with_boxes(cv::Mat& image, std::vector<ObjectBox>& objects,
                        const BoxAugmentOptions& options, Generator& gen);

// An RGB image (CV_8UC3) as the detector's input [3, S, S] in [0, 1]: resized to S x S (area
// interpolation when shrinking, bilinear when enlarging), as DetectionDataset prepares examples.
Tensor detection_input(const cv::Mat& rgb, int64_t image_size);

// A Dataset over a DetectionList: each image decoded as RGB, augmented (training, when options are
// given), resized to image_size x image_size (the aspect ratio is not kept; boxes scale with it),
// as float32 [3, S, S] in [0, 1]. Targets, padded to max_objects per image:
//   targets["boxes"]       float32 [B, max_objects, 4]  xyxy in pixels of the S x S input
//   targets["box_labels"]  int64   [B, max_objects]     class, -1 for padding
// labels holds each image's first object's class (-1 when it has none) for class counts.
class DetectionDataset : public Dataset {
 public:
  // max_objects 0: the most objects any image of the list has. Throws when an image has more.
  DetectionDataset(DetectionList list, int64_t image_size, int64_t max_objects = 0);
  int64_t size() const override { return int64_t(list_->images.size()); }
  Shape example_shape() const override { return Shape({3, image_size_, image_size_}); }
  int64_t num_classes() const override { return int64_t(list_->class_names.size()); }
  std::vector<std::string> class_names() const override { return list_->class_names; }
  std::vector<int64_t> labels() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  // With augmentation: example i's generator is Generator(example_seed(epoch_seed, i)).
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  // The same images with augmentation in get_epoch_batch.
  std::shared_ptr<DetectionDataset> with_augmentation(const BoxAugmentOptions& options) const;
  const DetectionList& list() const { return *list_; }
  int64_t max_objects() const { return max_objects_; }

 private:
  Batch assemble(const std::vector<int64_t>& indices, const uint64_t* epoch_seed) const;

  std::shared_ptr<const DetectionList> list_;
  int64_t image_size_, max_objects_;
  std::shared_ptr<const BoxAugmentOptions> augment_;
};

}  // namespace convkit::data
