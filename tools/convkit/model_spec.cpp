#include "model_spec.h"

#include <filesystem>

#include "commands.h"
#include "convkit/models/registry.h"

namespace convkit::cli {

namespace {
// A registered model's reference input: its paper's size; one channel for the 28x28 (MNIST)
// models and three otherwise; 1000 classes for ImageNet-sized models and 10 otherwise.
models::ModelConfig reference_config(const models::ModelEntry& e) {
  return {e.input_size <= 28 ? 1 : 3, e.input_size >= 64 ? 1000 : 10, e.input_size};
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}
}  // namespace

void add_model_spec_options(CLI::App& cmd, ModelSpec& s) {
  cmd.add_option("model", s.model,
                 "Registered model name, or a model file (weights from `convkit train`, .onnx, or "
                 "a torchvision-named .safetensors with --model)");
  cmd.add_option("--model", s.torchvision_model, "Registered name of a torchvision state dict");
  cmd.add_option("--in-channels", s.in_channels,
                 "Input channels (default: 1 for the 28x28 models, else 3)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--classes", s.num_classes,
                 "Number of classes (default: 1000 for ImageNet-sized models, else 10)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--image-size", s.image_size,
                 "Input height and width (default: the model's reference size)")
      ->check(CLI::NonNegativeNumber);
}

SpecifiedModel build_model(const ModelSpec& s) {
  if (is_file(s.model)) {
    ModelArgs a{s.model, {}};
    a.options.torchvision.model = s.torchvision_model;
    a.options.torchvision.num_classes = s.num_classes;
    if (s.in_channels > 0) a.options.torchvision.in_channels = s.in_channels;
    a.options.image_size = s.image_size;
    const infer::ModelBundle b = load_model_argument(a);
    return {b.module, b.describe(), b.in_channels, b.num_classes, b.image_size};
  }
  const models::ModelEntry e = models::find_model(s.model);
  models::ModelConfig c = reference_config(e);
  if (s.in_channels > 0) c.in_channels = s.in_channels;
  if (s.num_classes > 0) c.num_classes = s.num_classes;
  if (s.image_size > 0) c.image_size = s.image_size;
  CONVKIT_CHECK(c.image_size >= e.min_input_size, s.model, " needs inputs of at least ",
                e.min_input_size, "x", e.min_input_size, " (--image-size), got ", c.image_size, "x",
                c.image_size);
  SpecifiedModel m{nullptr, s.model, c.in_channels, c.num_classes, c.image_size};
  // Models whose head is sized from the input refuse a small one when they are built.
  with_input_size_hint(s, m, [&] { m.module = e.make(c); });
  return m;
}

void with_input_size_hint(const ModelSpec& s, const SpecifiedModel& m,
                          const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& err) {
    if (is_file(s.model)) throw;
    const int64_t smallest = infer::smallest_input_size(s.model, m.in_channels);
    throw Error(detail::concat(
        s.model, ": a ", m.in_channels, "x", m.image_size, "x", m.image_size,
        " input does not run through the model (", err.what(), ")",
        smallest > 0 ? detail::concat("; its smallest input is ", smallest, "x", smallest)
                     : std::string()));
  }
}

}  // namespace convkit::cli
