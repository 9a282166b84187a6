#pragma once
// A trained YOLO detector as one safetensors file: the weights plus metadata "convkit.task" =
// "detect" and "convkit.detector" = {"arch": "yolo", "width": ..., "image_size", "grid",
// "anchors": [[w, h], ...], "class_names": [...]} (JSON), so `convkit detect` and `convkit eval`
// rebuild the network without flags.
#include <memory>
#include <string>
#include <vector>

#include "convkit/detect/yolo.h"
#include "convkit/nn/layers.h"

namespace convkit::detect {

struct Detector {
  YoloConfig config;
  int64_t width = 16;  // make_yolo_darknet's width
  std::vector<std::string> class_names;
  std::shared_ptr<nn::Sequential> model;  // in eval mode after load_detector
};

// Writes atomically (io::save_safetensors).
void save_detector(const std::string& path, const Detector& detector);
// True when `path` is a safetensors file whose metadata says it holds a detector (false for any
// other file, readable or not).
bool is_detector_file(const std::string& path);
// Throws naming the path when the file is not a detector or its weights do not fit the network.
Detector load_detector(const std::string& path);

}  // namespace convkit::detect
