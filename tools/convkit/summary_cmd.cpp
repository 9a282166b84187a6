// convkit summary: the layer table of a registered model or a model file, or the list of models.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/nn/summary.h"

namespace convkit::cli {

namespace {
struct SummaryArgs {
  std::string model, torchvision_model;
  bool list = false, markdown = false;
  int64_t in_channels = 0, num_classes = 0, image_size = 0;  // 0: the model's own
};

// The input a registered model is described at: its paper's size; one channel for the 28x28
// (MNIST) models and three otherwise; 1000 classes for ImageNet-sized models and 10 otherwise.
models::ModelConfig reference_config(const models::ModelEntry& e) {
  return {e.input_size <= 28 ? 1 : 3, e.input_size >= 64 ? 1000 : 10, e.input_size};
}

// docs/models.md's table: each model at its paper's input size, with 3 channels and the classes of
// its reference (ImageNet models: 1000) or, for the small models, of CIFAR-10.
void print_markdown_table() {
  std::printf(
      "| name | architecture | paper | input (C x H x W), classes | parameters | reference | "
      "MACs per image | smallest input |\n|---|---|---|---|---:|---|---:|---|\n");
  for (const auto& e : models::list_models()) {
    models::ModelConfig config = reference_config(e);
    config.in_channels = 3;
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

// A model file: the bundle's module at the bundle's input size.
void print_file_summary(const SummaryArgs& a) {
  ModelArgs m{a.model, {}};
  m.options.torchvision.model = a.torchvision_model;
  m.options.torchvision.num_classes = a.num_classes;
  if (a.in_channels > 0) m.options.torchvision.in_channels = a.in_channels;
  m.options.image_size = a.image_size;
  const infer::ModelBundle b = load_model_argument(m);
  std::printf("%s\n%s", b.describe().c_str(),
              nn::summary(*b.module, {1, b.in_channels, b.image_size, b.image_size}).c_str());
}

void run_summary(const SummaryArgs& a) {
  if (print_onnx_summary(a.model, a.image_size > 0 ? a.image_size : 224)) return;
  if (a.markdown) return print_markdown_table();
  if (a.list || a.model.empty()) {
    for (const auto& e : models::list_models())
      std::printf("%-16s %s\n", e.name.c_str(), e.description.c_str());
    return;
  }
  std::error_code ec;
  if (std::filesystem::is_regular_file(a.model, ec)) return print_file_summary(a);
  const models::ModelEntry e = models::find_model(a.model);
  models::ModelConfig c = reference_config(e);
  if (a.in_channels > 0) c.in_channels = a.in_channels;
  if (a.num_classes > 0) c.num_classes = a.num_classes;
  if (a.image_size > 0) c.image_size = a.image_size;
  CONVKIT_CHECK(c.image_size >= e.min_input_size, a.model, " needs inputs of at least ",
                e.min_input_size, "x", e.min_input_size, " (--image-size), got ", c.image_size, "x",
                c.image_size);
  std::string table;
  try {
    table = nn::summary(*e.make(c), {1, c.in_channels, c.image_size, c.image_size});
  } catch (const Error& err) {
    const int64_t smallest = infer::smallest_input_size(a.model, c.in_channels);
    throw Error(detail::concat(
        a.model, ": a ", c.in_channels, "x", c.image_size, "x", c.image_size,
        " input does not run through the model (", err.what(), ")",
        smallest > 0 ? detail::concat("; its smallest input is ", smallest, "x", smallest)
                     : std::string()));
  }
  std::printf("%s: input %lldx%lldx%lld, %lld classes\n%s", a.model.c_str(),
              (long long)c.in_channels, (long long)c.image_size, (long long)c.image_size,
              (long long)c.num_classes, table.c_str());
}
}  // namespace

void add_summary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  auto* cmd =
      app.add_subcommand("summary", "Print a model's layers, output shapes, parameters and MACs");
  cmd->add_option("model", a->model,
                  "Registered model name, or a model file (weights from `convkit train`, .onnx, or "
                  "a torchvision-named .safetensors with --model)");
  cmd->add_flag("--list,-l", a->list, "List the registered models");
  cmd->add_flag(
      "--markdown", a->markdown,
      "With --list: a Markdown table of every model (paper, parameters, MACs, input sizes), "
      "as in docs/models.md");
  cmd->add_option("--model", a->torchvision_model, "Registered name of a torchvision state dict");
  cmd->add_option("--in-channels", a->in_channels,
                  "Input channels (default: 1 for the 28x28 models, else 3)");
  cmd->add_option("--classes", a->num_classes,
                  "Number of classes (default: 1000 for ImageNet-sized models, else 10)");
  cmd->add_option("--image-size", a->image_size,
                  "Input height and width (default: the model's reference size)");
  cmd->callback([a] { run_summary(*a); });
}

}  // namespace convkit::cli
