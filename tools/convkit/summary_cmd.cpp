// convkit summary: the layer table of a registered model or a model file, or the list of models.
#include <cstdio>

#include "commands.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/nn/summary.h"
#include "model_spec.h"

namespace convkit::cli {

namespace {
struct SummaryArgs {
  ModelSpec spec;
  bool list = false, markdown = false;
};

// docs/models.md's table: each model at its paper's input size, with 3 channels and the classes of
// its reference (ImageNet models: 1000) or, for the small models, of CIFAR-10.
void print_markdown_table() {
  std::printf(
      "| name | architecture | paper | input (C x H x W), classes | parameters | reference | "
      "MACs per image | smallest input |\n|---|---|---|---|---:|---|---:|---|\n");
  for (const auto& e : models::list_models()) {
    // At its paper's size: 1000 classes for ImageNet-sized models, 10 otherwise.
    const models::ModelConfig config{3, e.input_size >= 64 ? 1000 : 10, e.input_size};
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
  const ModelSpec& spec = a.spec;
  if (print_onnx_summary(spec.model, spec.image_size > 0 ? spec.image_size : 224)) return;
  if (a.markdown) return print_markdown_table();
  if (a.list || spec.model.empty()) {
    for (const auto& e : models::list_models())
      std::printf("%-16s %s\n", e.name.c_str(), e.description.c_str());
    return;
  }
  const SpecifiedModel m = build_model(spec);
  std::string table;
  with_input_size_hint(spec, m, [&] {
    table = nn::summary(*m.module, {1, m.in_channels, m.image_size, m.image_size});
  });
  std::printf("%s: input %lldx%lldx%lld, %lld classes\n%s", m.name.c_str(),
              (long long)m.in_channels, (long long)m.image_size, (long long)m.image_size,
              (long long)m.num_classes, table.c_str());
}
}  // namespace

void add_summary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  auto* cmd =
      app.add_subcommand("summary", "Print a model's layers, output shapes, parameters and MACs");
  add_model_spec_options(*cmd, a->spec);
  cmd->add_flag("--list,-l", a->list, "List the registered models");
  cmd->add_flag(
      "--markdown", a->markdown,
      "With --list: a Markdown table of every model (paper, parameters, MACs, input sizes), "
      "as in docs/models.md");
  cmd->callback([a] { run_summary(*a); });
}

}  // namespace convkit::cli
