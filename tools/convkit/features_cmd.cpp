// convkit features: grids of the channel maps of named layers (PNG) and per-channel numbers
// (features.json) for image files (docs/visualization.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "convkit/infer/preprocess.h"
#include "convkit/viz/feature_maps.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"
#include "output_files.h"
#include "viz_images.h"

namespace convkit::cli {

namespace {
struct FeaturesArgs {
  ModelArgs model;
  std::vector<std::string> files, layers;
  std::string out = "features";
  int64_t max_channels = 64;
  RuntimeOptions runtime;
};

void run_features(const FeaturesArgs& a) {
  apply_runtime_options(a.runtime);
  const infer::ModelBundle bundle = load_model_argument(a.model);
  bundle.module->eval();
  const std::vector<VizImage> images = read_viz_images(bundle, a.files);
  std::filesystem::create_directories(a.out);
  nlohmann::json report = {{"model", bundle.describe()}, {"images", nlohmann::json::array()}};
  for (const VizImage& im : images) {
    std::map<std::string, Tensor> maps;
    try {
      const Tensor x = infer::stack_inputs({infer::preprocess_image(bundle, im.image)});
      maps = viz::capture_layers(*bundle.module, x, a.layers, bundle.describe());
      for (const std::string& l : a.layers) viz::check_spatial_map(l, maps[l].shape(), "features");
    } catch (const Error& e) {
      throw Error("features: " + im.path + ": " + e.what());
    }
    nlohmann::json entry = {{"file", im.path}, {"layers", nlohmann::json::array()}};
    for (const std::string& l : a.layers) {
      const Tensor fmap = maps[l].select(0);  // [1, C, H, W] -> [C, H, W]
      const std::string png = a.out + "/" + im.stem + "." + l + ".png";
      viz::write_png(png, viz::feature_grid(fmap, a.max_channels));
      nlohmann::json channels = nlohmann::json::array();
      int64_t non_finite = 0;
      for (const viz::ChannelSummary& s : viz::channel_summaries(fmap)) {
        channels.push_back({{"mean", s.mean},
                            {"std", s.std},
                            {"min", s.min},
                            {"max", s.max},
                            {"zero_fraction", s.zero_fraction}});
        non_finite += s.non_finite;
      }
      if (non_finite > 0)
        std::fprintf(stderr,
                     "convkit: warning: %s: layer '%s' holds %lld NaN or infinite values (drawn "
                     "as zeros)\n",
                     im.path.c_str(), l.c_str(), (long long)non_finite);
      std::vector<int64_t> shape;
      for (int d = 0; d < fmap.ndim(); ++d) shape.push_back(fmap.size(d));
      entry["layers"].push_back({{"layer", l},
                                 {"shape", shape},
                                 {"png", png},
                                 {"non_finite", non_finite},
                                 {"channels", channels}});
      std::printf("%s: %s %s -> %s\n", im.path.c_str(), l.c_str(), fmap.shape().to_string().c_str(),
                  png.c_str());
    }
    report["images"].push_back(entry);
  }
  write_text_file(a.out + "/features.json", report.dump(2) + "\n");
  check_all_images_used("features", images.size(), a.files.size());
}
}  // namespace

void add_features(CLI::App& app) {
  auto a = std::make_shared<FeaturesArgs>();
  auto* cmd = app.add_subcommand(
      "features", "Feature maps of named layers for image files: channel grids (PNG) + JSON");
  add_model_argument(*cmd, a->model);
  cmd->add_option("images", a->files, "Image files (prepared as in training)")->required();
  cmd->add_option("--layers,-l", a->layers,
                  "Dotted module paths, comma-separated (layer1,layer2.0)")
      ->required()
      ->delimiter(',')
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--out,-o", a->out, "Output folder")->capture_default_str();
  cmd->add_option("--max-channels", a->max_channels, "Channels drawn per layer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_features(*a); });
}

}  // namespace convkit::cli
