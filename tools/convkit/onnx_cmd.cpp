// convkit export: saved weights to an ONNX file (docs/onnx.md). Also the ONNX side of summary,
// eval and predict: an .onnx path works wherever a weights file does.
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/io/onnx.h"
#include "convkit/random.h"

namespace convkit::cli {

namespace {

bool is_onnx(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

struct ExportArgs {
  std::string checkpoint, onnx;
  int opset = 13;
};

void run_export(const ExportArgs& a) {
  train::LoadedModel m = train::load_model(a.checkpoint);
  const Shape input{1, m.in_channels, m.image_size, m.image_size};
  io::OnnxExportOptions options;
  options.opset = a.opset;
  // The checkpoint's metadata (model, config with class names and input standardization) goes
  // along, so that eval/predict on the .onnx file standardize inputs as training did.
  options.metadata = m.metadata;
  io::save_onnx(*m.model, input, a.onnx, options);

  // Re-import and compare on a random batch: a file that does not reproduce the model is an error.
  auto back = io::load_onnx(a.onnx);
  Generator gen(1);
  const Tensor x = Tensor::randn({2, m.in_channels, m.image_size, m.image_size}, &gen);
  NoGradGuard no_grad;
  m.model->eval();
  back->eval();
  const Tensor want = (*m.model)(x), got = (*back)(x);
  double diff = 0, scale = 1e-12;
  for (int64_t i = 0; i < want.numel(); ++i) {
    diff = std::max(diff, std::abs(double(got.data<float>()[i]) - want.data<float>()[i]));
    scale = std::max(scale, std::abs(double(want.data<float>()[i])));
  }
  CONVKIT_CHECK(diff / scale <= 1e-4, "export: ", a.onnx, " does not reproduce ", a.checkpoint,
                " (relative error ", diff / scale, ")");
  std::printf(
      "wrote %s: %s, opset %d, %zu nodes, %lld parameters, input [N,%lld,%lld,%lld]; "
      "re-imported output matches (relative error %.1e)\n",
      a.onnx.c_str(), m.name.c_str(), a.opset, back->nodes().size(),
      (long long)back->num_parameters(), (long long)m.in_channels, (long long)m.image_size,
      (long long)m.image_size, diff / scale);
}

}  // namespace

train::LoadedModel load_model_file(const std::string& path) {
  if (!is_onnx(path)) return train::load_model(path);
  train::LoadedModel m;
  auto model = io::load_onnx(path);
  m.model = model;
  m.metadata = model->metadata();
  m.name = m.metadata.count("model") ? m.metadata.at("model") : "onnx";
  const std::vector<int64_t> in = model->input_shape(model->input_names().at(0));
  if (in.size() == 4) m.in_channels = in[1], m.image_size = in[2];
  auto config = m.metadata.find("config");
  if (config != m.metadata.end()) {
    try {
      auto j = nlohmann::json::parse(config->second);
      m.num_classes = j.value("num_classes", int64_t(0));
      if (j.contains("class_names"))
        m.class_names = j["class_names"].get<std::vector<std::string>>();
      if (j.contains("normalization")) {
        m.norm_mean = j["normalization"].at("mean").get<std::vector<double>>();
        m.norm_std = j["normalization"].at("std").get<std::vector<double>>();
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": malformed 'config' metadata: " + e.what());
    }
  }
  return m;
}

bool print_onnx_summary(const std::string& path, int64_t image_size) {
  if (!is_onnx(path)) return false;
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
      "export", "Write saved weights as an ONNX model (checked by re-importing it)");
  cmd->add_option("--checkpoint", a->checkpoint, "Weights file written by `convkit train`")
      ->required();
  cmd->add_option("--onnx", a->onnx, "Output .onnx file")->required();
  cmd->add_option("--opset", a->opset, "ONNX opset, 9 to 17 (10 for OpenCV <= 4.6 with ReLU6)")
      ->capture_default_str()
      ->check(CLI::Range(9, 17));
  cmd->callback([a] { run_export(*a); });
}

}  // namespace convkit::cli
