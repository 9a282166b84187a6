// convkit cam: Grad-CAM / Grad-CAM++ / CAM overlays (PNG) and the numbers (cam.json) for image
// files (docs/visualization.md).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "convkit/viz/gradcam.h"
#include "convkit/viz/overlay.h"
#include "output_files.h"
#include "viz_images.h"

namespace convkit::cli {

namespace {
struct CamArgs {
  ModelArgs model;
  std::vector<std::string> files;
  std::string out = "cam";
  std::string layer, method = "gradcam";
  std::vector<int64_t> classes;
  int64_t top_k = 1;
  RuntimeOptions runtime;
};

// The heatmap's peak in model-input pixels, and mapped back to the original file's pixels through
// the bundle's resize-shorter-side and centre crop (pixel centres; x right, y down).
nlohmann::json peak(const Tensor& heatmap, const infer::ModelBundle& b, const cv::Mat& image) {
  const float* p = heatmap.data<float>();
  const int64_t S = heatmap.size(1);
  const int64_t i = std::max_element(p, p + heatmap.numel()) - p;
  const double x = double(i % S), y = double(i / S);
  const double scale =
      double(std::min(image.cols, image.rows)) / double(b.preprocessing.effective_load_size());
  const double ox = std::floor((image.cols / scale - double(S)) / 2);
  const double oy = std::floor((image.rows / scale - double(S)) / 2);
  return {{"input", {x, y}},
          {"image", {(x + 0.5 + ox) * scale - 0.5, (y + 0.5 + oy) * scale - 0.5}}};
}

// A class name as part of a file name.
std::string file_safe(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  return s;
}

void run_cam(const CamArgs& a) {
  apply_runtime_options(a.runtime);
  const infer::ModelBundle bundle = load_model_argument(a.model);
  viz::CamOptions o;
  o.method = viz::parse_cam_method(a.method);
  o.layer = a.layer;
  o.classes = a.classes;
  o.top_k = a.top_k;
  const std::vector<VizImage> images = read_viz_images(bundle, a.files);
  std::filesystem::create_directories(a.out);
  nlohmann::json report = {{"model", bundle.describe()}, {"method", a.method}, {"images", {}}};
  int64_t not_finite = 0;
  for (const VizImage& im : images) {
    std::vector<viz::Explanation> ex;
    try {
      ex = viz::explain(bundle, im.image, o);
    } catch (const Error& e) {
      throw Error("cam: " + im.path + ": " + e.what());
    }
    nlohmann::json entry = {{"file", im.path}, {"layer", ex.at(0).layer}, {"classes", {}}};
    for (size_t r = 0; r < ex.size(); ++r) {
      const viz::Explanation& e = ex[r];
      nlohmann::json c = {{"class", e.class_index}, {"name", e.class_name},
                          {"score", e.score},       {"probability", e.probability},
                          {"finite", e.finite},     {"map_size", {e.map.size(1), e.map.size(0)}}};
      if (e.finite) {
        const std::string png = a.out + "/" + im.stem + "." + std::to_string(r) + "." +
                                file_safe(e.class_name) + ".png";
        viz::write_png(png, e.overlay);
        c["png"] = png;
        c["peak"] = peak(e.heatmap, bundle, im.image);
      } else {
        ++not_finite;
        std::fprintf(stderr,
                     "convkit: warning: %s: the activations or gradients of layer '%s' for class "
                     "%s are NaN or infinite; no image written\n",
                     im.path.c_str(), e.layer.c_str(), e.class_name.c_str());
      }
      entry["classes"].push_back(c);
    }
    report["images"].push_back(entry);
    std::printf("%s: layer %s:", im.path.c_str(), ex.at(0).layer.c_str());
    for (const viz::Explanation& e : ex)
      std::printf("  %s %.2f%%", e.class_name.c_str(), 100 * e.probability);
    std::printf("\n");
  }
  write_text_file(a.out + "/cam.json", report.dump(2) + "\n");
  std::printf("wrote %s/cam.json%s\n", a.out.c_str(),
              not_finite ? " (some maps were not finite: see the warnings)" : "");
  check_all_images_used("cam", images.size(), a.files.size());
}
}  // namespace

void add_cam(CLI::App& app) {
  auto a = std::make_shared<CamArgs>();
  auto* cmd = app.add_subcommand(
      "cam", "Class activation maps (Grad-CAM, Grad-CAM++, CAM) over image files: PNG + JSON");
  add_model_argument(*cmd, a->model);
  cmd->add_option("images", a->files, "Image files (prepared as in training)")->required();
  cmd->add_option("--out,-o", a->out, "Output folder (overlays and cam.json)")
      ->capture_default_str();
  cmd->add_option("--layer,-l", a->layer,
                  "Dotted module path (default: the last conv layer or block with a spatial map)");
  cmd->add_option("--method", a->method, "gradcam | gradcam++ | cam")
      ->capture_default_str()
      ->check(CLI::IsMember({"gradcam", "gradcam++", "cam"}));
  auto* cls = cmd->add_option("--class,-c", a->classes,
                              "Class indices to explain (repeatable, or comma-separated)")
                  ->delimiter(',')
                  ->allow_extra_args(false)
                  ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--top-k,-k", a->top_k, "Explain each image's k most probable classes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->excludes(cls);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_cam(*a); });
}

}  // namespace convkit::cli
