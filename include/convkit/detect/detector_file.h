#pragma once
// A trained detector as one safetensors file: the weights plus metadata "convkit.task" = "detect"
// and "convkit.detector" (JSON) = {"arch": "yolo", "width", "image_size", "grid", "anchors":
// [[w, h], ...], "class_names"} or {"arch": "frcnn", "width", "image_size", "grid",
// "anchor_sizes", "anchor_ratios", "representation", "pool_size", "class_names"}, so that
// `convkit detect` and `convkit eval` rebuild the network without flags.
#include <memory>
#include <string>
#include <vector>

#include "convkit/detect/faster_rcnn.h"
#include "convkit/detect/yolo.h"
#include "convkit/nn/layers.h"

namespace convkit::detect {

struct Detector {
  std::string arch = "yolo";  // "yolo" or "frcnn"
  YoloConfig config;          // yolo
  int64_t width = 16;         // yolo: make_yolo_darknet's width
  FasterRcnnConfig frcnn;     // frcnn (its width is frcnn.width)
  std::vector<std::string> class_names;
  std::shared_ptr<nn::Module> model;  // in eval mode after load_detector

  int64_t image_size() const { return arch == "frcnn" ? frcnn.image_size : config.image_size; }
  int64_t num_classes() const { return int64_t(class_names.size()); }
  // Detections of images [N, 3, S, S] with confidence >= conf after NMS per class at iou:
  // yolo_decode or FasterRcnn::detect. No gradient.
  std::vector<metrics::Detection> detect(const Tensor& images, double conf, double iou) const;
};

// Writes atomically (io::save_safetensors).
void save_detector(const std::string& path, const Detector& detector);
// True when `path` is a safetensors file whose metadata says it holds a detector (false for any
// other file, readable or not).
bool is_detector_file(const std::string& path);
// Throws naming the path when the file is not a detector or its weights do not fit the network.
Detector load_detector(const std::string& path);

}  // namespace convkit::detect
