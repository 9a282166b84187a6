// convkit detect MODEL IMAGE...: runs a detector (written by `convkit train --task detect`) on
// images; writes each image with its boxes drawn (PNG) and every detection to detections.json.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/data/detection.h"
#include "convkit/data/image_file.h"
#include "convkit/detect/detector_file.h"
#include "output_files.h"

namespace convkit::cli {

namespace {
struct DetectArgs {
  std::string model;
  std::vector<std::string> images;
  double conf = 0.25, iou = 0.45;
  std::string out = "detections";
  RuntimeOptions runtime;
};

// A colour per class (BGR), distinct for the first few.
cv::Scalar class_colour(int64_t label) {
  static const cv::Scalar colours[] = {{0, 0, 255},   {0, 200, 0},   {255, 0, 0},  {0, 200, 255},
                                       {255, 0, 255}, {255, 255, 0}, {0, 128, 255}};
  return colours[label % 7];
}

void run_detect(const DetectArgs& a) {
  apply_runtime_options(a.runtime);
  // Every input is checked before the first is drawn: a typo in the last one should not leave a
  // folder of drawings without their detections.json.
  for (const std::string& path : a.images)
    CONVKIT_CHECK(std::filesystem::is_regular_file(path), path,
                  ": no such file; nothing was detected (check the image paths)");
  const detect::Detector det = detect::load_detector(a.model);
  std::filesystem::create_directories(a.out);
  const int64_t S = det.image_size();
  nlohmann::json all = nlohmann::json::array();
  NoGradGuard no_grad;
  for (const std::string& path : a.images) {
    const cv::Mat rgb = data::read_image(path, data::ColorMode::rgb).image;
    const Tensor input = data::detection_input(rgb, S).reshape({1, 3, S, S});
    const std::vector<metrics::Detection> found = det.detect(input, a.conf, a.iou);
    // Small images are drawn enlarged (whole pixels, no smoothing) so the labels stay readable;
    // detections.json keeps the image's own pixels.
    const int zoom = std::max(
        1, (256 + std::min(rgb.rows, rgb.cols) - 1) / std::max(1, std::min(rgb.rows, rgb.cols)));
    cv::Mat canvas;
    cv::cvtColor(rgb, canvas, cv::COLOR_RGB2BGR);
    if (zoom > 1) cv::resize(canvas, canvas, {}, zoom, zoom, cv::INTER_NEAREST);
    const double sx = double(rgb.cols) / double(S), sy = double(rgb.rows) / double(S);
    nlohmann::json list = nlohmann::json::array();
    for (const metrics::Detection& d : found) {
      const double x1 = d.box.x1 * sx, y1 = d.box.y1 * sy, x2 = d.box.x2 * sx, y2 = d.box.y2 * sy;
      const std::string& name = det.class_names[size_t(d.label)];
      list.push_back(
          {{"class", name}, {"label", d.label}, {"score", d.score}, {"box", {x1, y1, x2, y2}}});
      const cv::Scalar c = class_colour(d.label);
      cv::rectangle(canvas, cv::Point2d(x1 * zoom, y1 * zoom), cv::Point2d(x2 * zoom, y2 * zoom), c,
                    zoom > 1 ? 2 : 1);
      char text[96];
      std::snprintf(text, sizeof text, "%s %.2f", name.c_str(), d.score);
      cv::putText(canvas, text, cv::Point2d(x1 * zoom + 2, std::max(10.0, y1 * zoom - 3)),
                  cv::FONT_HERSHEY_PLAIN, 0.8, c, 1);
    }
    const std::string png =
        (std::filesystem::path(a.out) / std::filesystem::path(path).stem()).string() + ".png";
    CONVKIT_CHECK(cv::imwrite(png, canvas), png, ": cannot write the image");
    std::printf("%s: %zu detections -> %s\n", path.c_str(), found.size(), png.c_str());
    all.push_back({{"image", path}, {"output", png}, {"detections", list}});
  }
  const std::string json_path = (std::filesystem::path(a.out) / "detections.json").string();
  write_text_file(json_path, all.dump(2) + "\n");
  std::printf("detections: %s\n", json_path.c_str());
}
}  // namespace

void add_detect(CLI::App& app) {
  auto a = std::make_shared<DetectArgs>();
  auto* cmd = app.add_subcommand(
      "detect", "Detect objects with a detector from `convkit train --task detect`");
  cmd->add_option("MODEL", a->model, "Detector file (<out>/detector.safetensors)")->required();
  cmd->add_option("IMAGE", a->images, "Images")->required();
  cmd->add_option(
         "--conf", a->conf,
         "Confidence threshold (yolo: objectness x class probability; frcnn: class probability)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--iou", a->iou, "NMS IoU threshold (per class)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--out,-o", a->out, "Folder for the drawn images and detections.json")
      ->capture_default_str();
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_detect(*a); });
}

}  // namespace convkit::cli
