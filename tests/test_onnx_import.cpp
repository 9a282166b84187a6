// ONNX import against PyTorch: torchvision models (fixed seed, weights=None) and three small
// modules covering the op set at opsets 9, 11 and 17, exported by torch.onnx.export at test time
// (tests/onnx/gen_onnx.py, files in the build folder). Each must match PyTorch within 1e-4
// relative error in eval mode, in one training-mode forward + backward (gradient of the first
// convolution's weight, first batch norm's running mean), and after one SGD step on the imported
// model (fine-tuning works end to end). Cases with small weights also load PyTorch's state dict
// strictly into the imported model.
#include <gtest/gtest.h>

#include <set>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/golden.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

using test::rel_error;

constexpr double kTol = 1e-4;

// AlexNet and VGG run at 224 px (their adaptive pools export only then) and ResNet-101/152 are
// deep: minutes on the reference backend's plain-loop convolutions and under the sanitizers, so
// they run with oneDNN in optimized builds only.
bool is_big(const std::string& c) {
  return c == "alexnet" || c.rfind("vgg", 0) == 0 || c == "resnet101" || c == "resnet152";
}

class OnnxTorchGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxTorchGolden, MatchesPyTorch) {
  const std::string name = GetParam();
  std::string why;
  if (!test::python_has("torch, torchvision, onnx", &why)) GTEST_SKIP() << why;
#ifdef CONVKIT_SANITIZE_BUILD
  if (is_big(name)) GTEST_SKIP() << name << " is too slow for the sanitizer build";
#endif
  if (is_big(name) && backend() == Backend::ref)
    GTEST_SKIP() << name << " is too slow on the reference backend";

  const std::string base = test::onnx_case(name);
  io::SafetensorsFile golden = io::load_safetensors(base + ".safetensors");
  auto T = [&](const std::string& key) { return test::golden_tensor(golden, key); };
  auto model = io::load_onnx(base + ".onnx");

  model->eval();
  {
    NoGradGuard no_grad;
    EXPECT_LE(rel_error((*model)(T("input")), T("eval_output")), kTol) << "eval output";
  }

  model->train();
  Tensor y = (*model)(T("train_input"));
  EXPECT_LE(rel_error(y, T("train_output")), kTol) << "training-mode output";
  sum(y * T("train_upstream")).backward();
  std::map<std::string, Tensor> state = model->state_dict();
  const std::string grad_param = golden.metadata.at("grad_param");
  ASSERT_TRUE(state.count(grad_param)) << grad_param << " is not in the imported state dict";
  ASSERT_TRUE(state[grad_param].grad().defined());
  EXPECT_LE(rel_error(state[grad_param].grad(), T("train_grad")), kTol) << "grad of " << grad_param;
  if (golden.metadata.count("bn_param")) {
    const std::string bn = golden.metadata.at("bn_param");
    ASSERT_TRUE(state.count(bn)) << bn;
    EXPECT_LE(rel_error(state[bn], T("train_running_mean")), kTol) << bn;
  }

  optim::SGD(optim::single_group(*model, /*lr=*/0.1)).step();
  model->eval();
  NoGradGuard no_grad;
  EXPECT_LE(rel_error((*model)(T("input")), T("eval_output_after_step")), kTol)
      << "eval output after one SGD step";

  // PyTorch's own state dict after that step loads key for key and gives the same outputs.
  std::map<std::string, Tensor> torch_state;
  for (const auto& [key, t] : golden.tensors)
    if (key.rfind("state.", 0) == 0) torch_state[key.substr(6)] = t;
  if (torch_state.empty()) return;
  auto fresh = io::load_onnx(base + ".onnx");
  fresh->load_state_dict(torch_state, /*strict=*/true, base + ".safetensors");
  fresh->eval();
  EXPECT_LE(rel_error((*fresh)(T("input")), T("eval_output_after_step")), kTol)
      << "eval output with PyTorch's state dict";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OnnxTorchGolden,
    ::testing::Values("ops_old", "ops_mid", "ops_new", "resnet18", "resnet34", "resnet50",
                      "resnet101", "resnet152", "mobilenet_v2", "googlenet", "alexnet", "vgg11",
                      "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace convkit
