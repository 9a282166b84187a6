#pragma once
// A trained detector as one safetensors file: the weights plus metadata "convkit.task" = "detect"
// and "convkit.detector" (JSON) = {"arch": "yolo", "width", "image_size", "grid", "anchors":
// [[w, h], ...], "class_names"} or {"arch": "frcnn", "width", "image_size", "grid",
// "anchor_sizes", "anchor_ratios", "representation", "pool_size", "class_names"} or {"arch":
// "localize", "width", "image_size", "grid", "class_names"}, plus "backbone"
// and "backbone_layer" for a zoo trunk (none: darknet), so that
// `convkit detect` and `convkit eval` rebuild the network without flags.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convkit/detect/faster_rcnn.h"
#include "convkit/detect/localization.h"
#include "convkit/detect/yolo.h"
#include "convkit/nn/layers.h"

namespace convkit::detect {

struct Detector {
  std::string arch = "yolo";  // "yolo", "frcnn" or "localize" (one box per image)
  YoloConfig config;          // yolo
  FasterRcnnConfig frcnn;     // frcnn
  LocalizerConfig localizer;  // localize
  BackboneSpec backbone;      // both (frcnn.backbone is a copy)
  std::vector<std::string> class_names;
  std::shared_ptr<nn::Module> model;  // in eval mode after load_detector

  int64_t image_size() const {
    return arch == "frcnn"      ? frcnn.image_size
           : arch == "localize" ? localizer.image_size
                                : config.image_size;
  }
  int64_t num_classes() const { return int64_t(class_names.size()); }
  // Detections of images [N, 3, S, S] with confidence >= conf after NMS per class at iou:
  // yolo_decode, FasterRcnn::detect or localization_detections. No gradient.
  std::vector<metrics::Detection> detect(const Tensor& images, double conf, double iou) const;
};

// The metadata that makes a safetensors file a detector file ("convkit.task", "convkit.detector"):
// save_detector writes it, and training checkpoints carry it so that best.safetensors loads as a
// detector too.
std::map<std::string, std::string> detector_metadata(const Detector& detector);
// A Detector's configuration and class names (no model) from such metadata; throws naming `path`
// when they are missing, malformed or implausible.
Detector detector_config(const std::map<std::string, std::string>& metadata,
                         const std::string& path);

// Writes atomically (io::save_safetensors).
void save_detector(const std::string& path, const Detector& detector);
// True when `path` is a safetensors file whose metadata says it holds a detector (false for any
// other file, readable or not).
bool is_detector_file(const std::string& path);
// Throws naming the path when the file is not a detector or its weights do not fit the network.
Detector load_detector(const std::string& path);

}  // namespace convkit::detect
