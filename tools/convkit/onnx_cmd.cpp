// convkit export: a trained model to an ONNX file (docs/onnx.md). Also the ONNX side of summary.
#include <cmath>
#include <cstdio>
#include <map>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/infer/session.h"
#include "convkit/io/onnx.h"
#include "convkit/random.h"

namespace convkit::cli {

namespace {

struct ExportArgs {
  ModelArgs model;
  std::string onnx;
  int opset = 13;
};

void run_export(const ExportArgs& a) {
  CONVKIT_CHECK(!a.onnx.empty(), "export: give the output file (convkit export MODEL OUT.onnx)");
  const infer::ModelBundle m = load_model_argument(a.model);
  io::OnnxExportOptions options;
  options.opset = a.opset;
  // The bundle's metadata (model, config with class names, preprocessing and standardization)
  // goes along, so that eval/predict on the .onnx file prepare inputs as training did.
  options.metadata = infer::bundle_metadata(m);
  m.module->eval();
  io::save_onnx(*m.module, {1, m.in_channels, m.image_size, m.image_size}, a.onnx, options);

  // Re-import and compare on a random batch: a file that does not reproduce the model is an error.
  const infer::Session want(m), got(infer::load_onnx_bundle(a.onnx));
  Generator gen(1);
  const Tensor x = Tensor::randn({2, m.in_channels, m.image_size, m.image_size}, &gen);
  const Tensor w = want.logits(x), g = got.logits(x);
  double diff = 0, scale = 1e-12;
  for (int64_t i = 0; i < w.numel(); ++i) {
    diff = std::max(diff, std::abs(double(g.data<float>()[i]) - w.data<float>()[i]));
    scale = std::max(scale, std::abs(double(w.data<float>()[i])));
  }
  CONVKIT_CHECK(diff / scale <= 1e-4, "export: ", a.onnx, " does not reproduce ", a.model.path,
                " (relative error ", diff / scale, ")");
  auto back = std::dynamic_pointer_cast<io::OnnxModel>(got.bundle().module);
  std::printf(
      "wrote %s: %s, opset %d, %zu nodes, %lld parameters, input [N,%lld,%lld,%lld]; "
      "re-imported output matches (relative error %.1e)\n",
      a.onnx.c_str(), m.name.c_str(), a.opset, back->nodes().size(),
      (long long)back->num_parameters(), (long long)m.in_channels, (long long)m.image_size,
      (long long)m.image_size, diff / scale);
}

}  // namespace

bool print_onnx_summary(const std::string& path, int64_t image_size) {
  if (path.size() <= 5 || path.compare(path.size() - 5, 5, ".onnx") != 0) return false;
  auto model = io::load_onnx(path);
  std::printf("%s: opset %lld, producer %s\n", path.c_str(), (long long)model->opset(),
              model->producer().empty() ? "(none)" : model->producer().c_str());
  std::map<std::string, Tensor> inputs;
  for (const std::string& name : model->input_names()) {
    std::vector<int64_t> dims = model->input_shape(name);
    for (size_t d = 0; d < dims.size(); ++d)
      if (dims[d] < 0) dims[d] = d == 0 ? 1 : image_size;  // symbolic: batch 1, else --image-size
    inputs[name] = Tensor::zeros(Shape(dims));
    std::printf("input  %-24s %s\n", name.c_str(), Shape(dims).to_string().c_str());
  }
  model->eval();
  NoGradGuard no_grad;
  const std::vector<Shape> shapes = model->node_output_shapes(inputs);
  std::printf("\n%-48s %-20s %s\n", "node", "op", "output shape");
  for (size_t k = 0; k < shapes.size(); ++k)
    std::printf("%-48s %-20s %s\n", model->nodes()[k].name.c_str(),
                model->nodes()[k].op_type.c_str(), shapes[k].to_string().c_str());
  std::printf("\n%zu nodes, %lld parameters (%lld trainable), %zu buffers\n", shapes.size(),
              (long long)model->num_parameters(), (long long)model->num_parameters(true),
              model->named_buffers().size());
  return true;
}

void add_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export", "Write a trained model as an ONNX file (checked by re-importing it)");
  add_model_argument(*cmd, a->model, /*required=*/false);
  cmd->add_option("out_file,--out,-o", a->onnx, "Output .onnx file");
  cmd->add_option("--opset", a->opset, "ONNX opset, 9 to 17 (10 for OpenCV <= 4.6 with ReLU6)")
      ->capture_default_str()
      ->check(CLI::Range(9, 17));
  // The spellings of earlier versions.
  cmd->add_option("--checkpoint", a->model.path)->group("");
  cmd->add_option("--onnx", a->onnx)->group("");
  cmd->callback([a] {
    CONVKIT_CHECK(!a->model.path.empty(), "export: give the model (convkit export MODEL OUT.onnx)");
    run_export(*a);
  });
}

}  // namespace convkit::cli
