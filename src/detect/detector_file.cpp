// Detector files (include/convkit/detect/detector_file.h).
#include "convkit/detect/detector_file.h"

#include <nlohmann/json.hpp>

#include "convkit/error.h"
#include "convkit/io/safetensors.h"

namespace convkit::detect {

namespace {
constexpr const char* kTaskKey = "convkit.task";
constexpr const char* kDetectorKey = "convkit.detector";
}  // namespace

void save_detector(const std::string& path, const Detector& d) {
  nlohmann::json anchors = nlohmann::json::array();
  for (const AnchorSize& a : d.config.anchors) anchors.push_back({a.w, a.h});
  const nlohmann::json j = {
      {"arch", "yolo"},        {"width", d.width},   {"image_size", d.config.image_size},
      {"grid", d.config.grid}, {"anchors", anchors}, {"class_names", d.class_names}};
  io::save_safetensors(path, d.model->state_dict(),
                       {{kTaskKey, "detect"}, {kDetectorKey, j.dump()}});
}

bool is_detector_file(const std::string& path) {
  try {
    const auto meta = io::load_safetensors(path).metadata;
    auto it = meta.find(kTaskKey);
    return it != meta.end() && it->second == "detect";
  } catch (const Error&) {
    return false;
  }
}

Detector load_detector(const std::string& path) {
  const io::SafetensorsFile f = io::load_safetensors(path);
  auto it = f.metadata.find(kDetectorKey);
  CONVKIT_CHECK(it != f.metadata.end(), path, ": not a detector file (no '", kDetectorKey,
                "' metadata); detectors are written by `convkit train --task detect`");
  Detector d;
  try {
    const nlohmann::json j = nlohmann::json::parse(it->second);
    CONVKIT_CHECK(j.at("arch").get<std::string>() == "yolo", path, ": unknown detector arch '",
                  j.at("arch").get<std::string>(), "'");
    d.width = j.at("width").get<int64_t>();
    d.config.image_size = j.at("image_size").get<int64_t>();
    d.config.grid = j.at("grid").get<int64_t>();
    d.config.anchors.clear();
    for (const auto& a : j.at("anchors")) d.config.anchors.push_back({a.at(0), a.at(1)});
    d.class_names = j.at("class_names").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed '" + kDetectorKey + "' metadata: " + e.what());
  }
  d.config.num_classes = int64_t(d.class_names.size());
  d.model = make_yolo_darknet(d.config, d.width);
  d.model->load_state_dict(f.tensors, /*strict=*/true, path);
  d.model->eval();
  return d;
}

}  // namespace convkit::detect
