// convkit filters: what a conv layer's filters respond to: the first layer's weights as tiles and,
// for any layer, the input each filter's channel responds to most (activation maximization), as
// PNG grids and filters.json (docs/visualization.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "convkit/viz/filters.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"
#include "output_files.h"

namespace convkit::cli {

namespace {
struct FiltersArgs {
  ModelArgs model;
  std::string layer, filters = "0-15", out = "filters";
  viz::ActivationMaxOptions opt;
  RuntimeOptions runtime;
};

void run_filters(FiltersArgs a) {
  apply_runtime_options(a.runtime);
  const infer::ModelBundle bundle = load_model_argument(a.model);
  bundle.module->eval();
  nn::Module& layer = viz::find_layer(*bundle.module, a.layer, bundle.describe());
  std::filesystem::create_directories(a.out);
  nlohmann::json report = {{"model", bundle.describe()}, {"layer", a.layer}};
  if (layer.type_name() == "Conv2d") {
    for (const auto& [name, w] : layer.named_parameters())
      if (name == "weight" && (w.size(1) == 1 || w.size(1) == 3)) {
        viz::write_png(a.out + "/weights.png", viz::weight_tiles(w));
        report["weights_png"] = a.out + "/weights.png";
      }
  }
  if (a.opt.size == 0) a.opt.size = bundle.image_size;
  a.opt.in_channels = bundle.in_channels;
  const std::vector<int64_t> filters = viz::parse_index_ranges(a.filters);
  const viz::ActivationMaxResult r =
      viz::maximize_activation(*bundle.module, a.layer, filters, a.opt, bundle.describe());
  std::vector<cv::Mat> tiles;
  nlohmann::json per = nlohmann::json::array();
  for (size_t i = 0; i < filters.size(); ++i) {
    tiles.push_back(viz::input_to_image(r.images.select(int64_t(i))));
    per.push_back({{"filter", filters[i]}, {"initial", r.initial[i]}, {"final", r.final[i]}});
  }
  viz::write_png(a.out + "/filters.png", viz::tile_grid(tiles));
  report["filters_png"] = a.out + "/filters.png";
  report["filters"] = per;
  report["size"] = a.opt.size;
  write_text_file(a.out + "/filters.json", report.dump(2) + "\n");
  std::printf("wrote %s/filters.png (%zu filters of %s at %lldx%lld)%s\n", a.out.c_str(),
              filters.size(), a.layer.c_str(), (long long)a.opt.size, (long long)a.opt.size,
              report.contains("weights_png") ? " and weights.png" : "");
}
}  // namespace

void add_filters(CLI::App& app) {
  auto a = std::make_shared<FiltersArgs>();
  a->opt.size = 0;
  auto* cmd = app.add_subcommand(
      "filters",
      "Filter visualization: first-layer weights and activation maximization (PNG + JSON)");
  add_model_argument(*cmd, a->model);
  cmd->add_option("--layer,-l", a->layer, "Dotted module path of a conv layer or block")
      ->required();
  cmd->add_option("--filters,-f", a->filters, "Channel indices: 0-63, 3,5,9-11")
      ->capture_default_str();
  cmd->add_option("--out,-o", a->out, "Output folder")->capture_default_str();
  cmd->add_option("--size", a->opt.size, "Image size (default: the model's input size)");
  cmd->add_option("--steps", a->opt.steps, "Gradient steps per octave")->capture_default_str();
  cmd->add_option("--octaves", a->opt.octaves, "Octaves (each --octave-scale larger)")
      ->capture_default_str();
  cmd->add_option("--octave-scale", a->opt.octave_scale, "Enlargement between octaves")
      ->capture_default_str();
  cmd->add_option("--step-size", a->opt.step_size, "Step of the normalized gradient")
      ->capture_default_str();
  cmd->add_option("--jitter", a->opt.jitter, "Random shift in pixels per step (0: off)")
      ->capture_default_str();
  cmd->add_option("--blur-every", a->opt.blur_every, "Steps between Gaussian blurs (0: off)")
      ->capture_default_str();
  cmd->add_option("--l2-decay", a->opt.l2_decay, "Decay of the image per step")
      ->capture_default_str();
  cmd->add_option("--seed", a->opt.seed, "Seed of the start noise")->capture_default_str();
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_filters(*a); });
}

}  // namespace convkit::cli
