// convkit summary: the layer table of a registered model, or the list of models.
#include <cstdio>

#include "commands.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/nn/summary.h"

namespace convkit::cli {

namespace {
struct SummaryArgs {
  std::string model;
  bool list = false, markdown = false;
  int64_t in_channels = 1, num_classes = 10, image_size = 28;
};

// docs/models.md's table: each model at its paper's input size, with the channels and classes of
// its reference (ImageNet models: 3 and 1000) or, for the small models, of CIFAR-10.
void print_markdown_table() {
  std::printf(
      "| name | architecture | paper | input (C x H x W), classes | parameters | reference | "
      "MACs per image | smallest input |\n|---|---|---|---|---:|---|---:|---|\n");
  for (const auto& e : models::list_models()) {
    const bool imagenet = e.input_size >= 64;
    const models::ModelConfig config{3, imagenet ? 1000 : 10, e.input_size};
    std::shared_ptr<nn::Module> model;
    {
      nn::init::SkipInitGuard skip_init;  // shapes only
      model = e.make(config);
    }
    const nn::ModelInfo info = nn::trace(*model, {1, 3, e.input_size, e.input_size});
    std::string reference = "—";
    if (e.reference_params) {
      const int64_t mine = models::reference_style_count(e, *model);
      reference = nn::with_commas(e.reference_params) + " (" + e.reference_source +
                  (e.reference_counts_bn_statistics ? ", with BN statistics" : "") + ")" +
                  (mine == e.reference_params ? "" : " MISMATCH: " + nn::with_commas(mine));
    }
    const std::string min_size = e.min_input_size ? std::to_string(e.min_input_size) + "x" +
                                                        std::to_string(e.min_input_size) + " and up"
                                                  : "exactly the configured size";
    std::printf("| `%s` | %s | %s | 3x%lldx%lld, %lld | %s | %s | %s | %s |\n", e.name.c_str(),
                e.description.c_str(), e.paper.empty() ? "—" : e.paper.c_str(),
                (long long)e.input_size, (long long)e.input_size, (long long)config.num_classes,
                nn::with_commas(info.params).c_str(), reference.c_str(),
                nn::with_commas(info.macs).c_str(), min_size.c_str());
  }
}

void run_summary(const SummaryArgs& a) {
  if (print_onnx_summary(a.model, a.image_size)) return;
  if (a.markdown) return print_markdown_table();
  if (a.list || a.model.empty()) {
    for (const auto& e : models::list_models())
      std::printf("%-16s %s\n", e.name.c_str(), e.description.c_str());
    return;
  }
  auto model = models::create_model(a.model, {a.in_channels, a.num_classes, a.image_size});
  std::printf("%s\n%s", a.model.c_str(),
              nn::summary(*model, {1, a.in_channels, a.image_size, a.image_size}).c_str());
}
}  // namespace

void add_summary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  auto* cmd =
      app.add_subcommand("summary", "Print a model's layers, output shapes, parameters and MACs");
  cmd->add_option("model", a->model, "Registered model name, or an .onnx file");
  cmd->add_flag("--list,-l", a->list, "List the registered models");
  cmd->add_flag(
      "--markdown", a->markdown,
      "With --list: a Markdown table of every model (paper, parameters, MACs, input sizes), "
      "as in docs/models.md");
  cmd->add_option("--in-channels", a->in_channels, "Input channels")->capture_default_str();
  cmd->add_option("--classes", a->num_classes, "Number of classes")->capture_default_str();
  cmd->add_option("--image-size", a->image_size, "Input height and width")->capture_default_str();
  cmd->callback([a] { run_summary(*a); });
}

}  // namespace convkit::cli
