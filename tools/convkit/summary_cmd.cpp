// convkit summary: the layer table of a registered model, or the list of models.
#include <cstdio>

#include "commands.h"
#include "convkit/models/registry.h"
#include "convkit/nn/summary.h"

namespace convkit::cli {

namespace {
struct SummaryArgs {
  std::string model;
  bool list = false;
  int64_t in_channels = 1, num_classes = 10, image_size = 28;
};

void run_summary(const SummaryArgs& a) {
  if (print_onnx_summary(a.model, a.image_size)) return;
  if (a.list || a.model.empty()) {
    for (const auto& e : models::list_models()) std::printf("%-16s %s\n", e.name.c_str(), e.description.c_str());
    return;
  }
  auto model = models::create_model(a.model, {a.in_channels, a.num_classes, a.image_size});
  std::printf("%s\n%s", a.model.c_str(),
              nn::summary(*model, {1, a.in_channels, a.image_size, a.image_size}).c_str());
}
}  // namespace

void add_summary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  auto* cmd = app.add_subcommand("summary", "Print a model's layers, output shapes, parameters and MACs");
  cmd->add_option("model", a->model, "Registered model name, or an .onnx file");
  cmd->add_flag("--list,-l", a->list, "List the registered models");
  cmd->add_option("--in-channels", a->in_channels, "Input channels")->capture_default_str();
  cmd->add_option("--classes", a->num_classes, "Number of classes")->capture_default_str();
  cmd->add_option("--image-size", a->image_size, "Input height and width")->capture_default_str();
  cmd->callback([a] { run_summary(*a); });
}

}  // namespace convkit::cli
