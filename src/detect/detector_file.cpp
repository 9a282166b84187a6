// Detector files (include/convkit/detect/detector_file.h).
#include "convkit/detect/detector_file.h"

#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/io/safetensors.h"

namespace convkit::detect {

namespace {
constexpr const char* kTaskKey = "convkit.task";
constexpr const char* kDetectorKey = "convkit.detector";
}  // namespace

std::vector<metrics::Detection> Detector::detect(const Tensor& images, double conf,
                                                 double iou) const {
  NoGradGuard no_grad;
  if (arch == "frcnn") return static_cast<FasterRcnn&>(*model).detect(images, conf, iou);
  if (arch == "localize")
    return localization_detections((*model)(images), localization_options(localizer), conf);
  return yolo_decode((*model)(images), config, conf, iou);
}

std::map<std::string, std::string> detector_metadata(const Detector& d) {
  nlohmann::json j;
  if (d.arch == "frcnn") {
    const FasterRcnnConfig& c = d.frcnn;
    j = {{"arch", "frcnn"},
         {"width", d.backbone.width},
         {"image_size", c.image_size},
         {"grid", c.grid},
         {"anchor_sizes", c.anchor_sizes},
         {"anchor_ratios", c.anchor_ratios},
         {"representation", c.representation},
         {"pool_size", c.pool_size},
         {"class_names", d.class_names}};
  } else if (d.arch == "localize") {
    j = {{"arch", "localize"},
         {"width", d.backbone.width},
         {"image_size", d.localizer.image_size},
         {"grid", d.localizer.grid},
         {"class_names", d.class_names}};
  } else {
    nlohmann::json anchors = nlohmann::json::array();
    for (const AnchorSize& a : d.config.anchors) anchors.push_back({a.w, a.h});
    j = {{"arch", "yolo"},        {"width", d.backbone.width}, {"image_size", d.config.image_size},
         {"grid", d.config.grid}, {"anchors", anchors},        {"class_names", d.class_names}};
  }
  if (d.backbone.name != "darknet") {
    j["backbone"] = d.backbone.name;
    j["backbone_layer"] = d.backbone.layer;
  }
  return {{kTaskKey, "detect"}, {kDetectorKey, j.dump()}};
}

void save_detector(const std::string& path, const Detector& d) {
  io::save_safetensors(path, d.model->state_dict(), detector_metadata(d));
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

Detector detector_config(const std::map<std::string, std::string>& metadata,
                         const std::string& path) {
  auto it = metadata.find(kDetectorKey);
  CONVKIT_CHECK(it != metadata.end(), path, ": not a detector file (no '", kDetectorKey,
                "' metadata); detectors are written by `convkit train --task detect`");
  Detector d;
  try {
    const nlohmann::json j = nlohmann::json::parse(it->second);
    d.arch = j.at("arch").get<std::string>();
    CONVKIT_CHECK(d.arch == "yolo" || d.arch == "frcnn" || d.arch == "localize", path,
                  ": unknown detector arch '", d.arch, "' (yolo, frcnn or localize)");
    d.class_names = j.at("class_names").get<std::vector<std::string>>();
    d.backbone.width = j.at("width").get<int64_t>();
    if (j.contains("backbone")) {
      d.backbone.name = j.at("backbone").get<std::string>();
      d.backbone.layer = j.at("backbone_layer").get<std::string>();
    }
    if (d.arch == "frcnn") {
      FasterRcnnConfig& c = d.frcnn;
      c.backbone = d.backbone;
      c.image_size = j.at("image_size").get<int64_t>();
      c.grid = j.at("grid").get<int64_t>();
      c.anchor_sizes = j.at("anchor_sizes").get<std::vector<float>>();
      c.anchor_ratios = j.at("anchor_ratios").get<std::vector<float>>();
      c.representation = j.at("representation").get<int64_t>();
      c.pool_size = j.at("pool_size").get<int64_t>();
      c.num_classes = d.num_classes();
    } else if (d.arch == "localize") {
      d.localizer.image_size = j.at("image_size").get<int64_t>();
      d.localizer.grid = j.at("grid").get<int64_t>();
      d.localizer.num_classes = d.num_classes();
    } else {
      d.config.image_size = j.at("image_size").get<int64_t>();
      d.config.grid = j.at("grid").get<int64_t>();
      d.config.anchors.clear();
      for (const auto& a : j.at("anchors")) d.config.anchors.push_back({a.at(0), a.at(1)});
      d.config.num_classes = d.num_classes();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed '" + kDetectorKey + "' metadata: " + e.what());
  }
  // Sizes a hostile file could use to ask for terabytes before the weights are compared.
  const int64_t side = d.image_size();
  const int64_t width = d.backbone.width;
  CONVKIT_CHECK(side >= 1 && side <= 8192 && width >= 1 && width <= 4096 &&
                    d.frcnn.representation <= 65536 && d.frcnn.pool_size <= 64 &&
                    d.frcnn.anchor_sizes.size() * d.frcnn.anchor_ratios.size() <= 1024 &&
                    d.config.anchors.size() <= 1024 && d.class_names.size() <= 100000,
                path, ": the detector's metadata has implausible sizes (image_size ", side,
                ", width ", width, ", ", d.class_names.size(), " classes)");
  try {
    if (d.arch == "frcnn")
      check_faster_rcnn_config(d.frcnn);
    else if (d.arch == "yolo")
      check_yolo_config(d.config);
    else
      CONVKIT_CHECK(d.localizer.grid >= 1 && d.localizer.grid <= d.localizer.image_size &&
                        d.num_classes() >= 1,
                    "localize: grid ", d.localizer.grid, " for image size ", d.localizer.image_size,
                    " with ", d.num_classes(), " classes");
  } catch (const Error& e) {
    throw Error(path + ": the detector's configuration is invalid: " + e.what());
  }
  return d;
}

Detector load_detector(const std::string& path) {
  const io::SafetensorsFile f = io::load_safetensors(path);
  Detector d = detector_config(f.metadata, path);
  try {
    if (d.arch == "frcnn")
      d.model = std::make_shared<FasterRcnn>(d.frcnn);
    else if (d.arch == "localize")
      d.model = make_localizer(d.localizer, d.backbone);
    else
      d.model = make_yolo(d.config, d.backbone);
  } catch (const Error& e) {
    throw Error(path + ": the detector's configuration is invalid: " + e.what());
  }
  d.model->load_state_dict(f.tensors, /*strict=*/true, path);
  d.model->eval();
  return d;
}

}  // namespace convkit::detect
