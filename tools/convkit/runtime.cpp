#include <omp.h>

#include "commands.h"
#include "convkit/backend.h"
#include "convkit/error.h"

namespace convkit::cli {

void add_runtime_options(CLI::App& cmd, RuntimeOptions& opt) {
  cmd.add_option("--threads", opt.threads, "Threads for the kernels (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--backend", opt.backend, "Kernel backend: dnnl (default) or ref")
      ->check(CLI::IsMember({"dnnl", "ref"}));
}

void apply_runtime_options(const RuntimeOptions& opt) {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  if (opt.backend == "ref") set_backend(Backend::ref);
  if (opt.backend == "dnnl") set_backend(Backend::dnnl);
}

void add_model_argument(CLI::App& cmd, ModelArgs& a, bool required) {
  auto* model = cmd.add_option("model_file", a.path,
                               "MODEL: weights written by `convkit train`, an .onnx file, or a "
                               "torchvision-named .safetensors state dict (with --model)");
  if (required) model->required();
  const char* g = "Model files without convkit metadata";
  cmd.add_option("--model", a.options.torchvision.model,
                 "Registered model name of a torchvision-named state dict (resnet18, ...)")
      ->group(g);
  cmd.add_option("--classes", a.options.torchvision.num_classes,
                 "Its class count (default: read from the classifier's weights)")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--image-size", a.options.image_size,
                 "Its input size (default: the model's; for ONNX, the graph's declared size)")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
}

infer::ModelBundle load_model_argument(const ModelArgs& a) {
  infer::BundleOptions o = a.options;
  o.torchvision.image_size = o.image_size;
  return infer::load_bundle(a.path, o);
}

}  // namespace convkit::cli
