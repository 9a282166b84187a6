// ONNX import against PyTorch: torchvision models (fixed seed, weights=None) and three small
// modules covering the op set at opsets 9, 11 and 17, exported by torch.onnx.export at test time
// (tests/onnx/gen_onnx.py, files in the build folder).
//  - eval mode, float32: within 1e-4 relative error of PyTorch.
//  - one training-mode forward + backward (gradient of the first convolution's weight, the first
//    batch norm's running mean) and one SGD step on the imported model (fine-tuning end to end),
//    against PyTorch in float64: the imported model loaded in float64 within 1e-4; in float32
//    within max(1e-4, 4 x PyTorch's own float32 error; 16 x after the step), because
//    training-mode batch norm through a deep net loses digits (PyTorch's float32 gradients of
//    ResNet-50 are ~1e-2 off its float64 ones).
//  - cases with small weights load PyTorch's state dict strictly and reproduce its outputs.
#include <gtest/gtest.h>

#include <set>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/golden.h"
#include "support/python_oracle.h"
#include "support/torch_golden.h"

namespace convkit {
namespace {

using test::rel_error;

constexpr double kTol = 1e-4;

// Where each case runs (the suite runs twice, dnnl and ref backends, plus an ASan build, on 2
// cores): ops_* everywhere; ResNet-18, MobileNet v2 and GoogLeNet also on the ref backend; the
// rest (ResNet-34..152, AlexNet and VGG at 224 px, whose adaptive pools export only there) with
// oneDNN in optimized builds: plain-loop convolutions or the sanitizers make them take minutes.
bool is_small(const std::string& c) { return c.rfind("ops_", 0) == 0; }
[[maybe_unused]] bool runs_on_ref(const std::string& c) {
  return is_small(c) || c == "resnet18" || c == "mobilenet_v2" || c == "googlenet";
}
// float64 runs the reference kernels whatever the backend: it runs once, in the dnnl pass. AlexNet
// and VGG have no deep training-mode batch norm, so their float32 check is already tight (their
// tolerance stays near 1e-4), and float64 would take minutes at 224 px.
bool checks_f64(const std::string& c) {
  return backend() == Backend::dnnl && c != "alexnet" && c.rfind("vgg", 0) != 0;
}

class OnnxTorchGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxTorchGolden, MatchesPyTorch) {
  const std::string name = GetParam();
  std::string why;
  if (!test::python_has("torch, torchvision, onnx", &why)) GTEST_SKIP() << why;
#ifdef CONVKIT_SANITIZE_BUILD
  if (!is_small(name)) GTEST_SKIP() << name << " is too slow for the sanitizer build";
#else
  if (!runs_on_ref(name) && backend() == Backend::ref)
    GTEST_SKIP() << name << " is too slow on the reference backend";
#endif

  const std::string base = test::onnx_case(name);
  const test::TorchCase c{io::load_safetensors(base + ".safetensors")};
  // The SGD step must move the outputs far beyond the tolerance, or its check proves nothing.
  EXPECT_GT(c.meta("step_change"), 25 * c.meta("tol_eval_output_after_step"));

  auto model = io::load_onnx(base + ".onnx");
  model->eval();
  {
    NoGradGuard no_grad;
    EXPECT_LE(rel_error((*model)(c("input")), c("eval_output")), kTol) << "eval output";
  }
  test::check_training_step(*model, c, DType::f32);
  if (checks_f64(name))
    test::check_training_step(*io::load_onnx(base + ".onnx", {DType::f64}), c, DType::f64);

  // PyTorch's own float32 state dict after its step loads key for key and gives its outputs.
  std::map<std::string, Tensor> torch_state;
  for (const auto& [key, t] : c.golden.tensors)
    if (key.rfind("state.", 0) == 0) torch_state[key.substr(6)] = t;
  if (torch_state.empty()) return;
  auto fresh = io::load_onnx(base + ".onnx");
  fresh->load_state_dict(torch_state, /*strict=*/true, base + ".safetensors");
  fresh->eval();
  NoGradGuard no_grad;
  EXPECT_LE(rel_error((*fresh)(c("input")), c("eval_output_after_step_f32")), kTol)
      << "eval output with PyTorch's state dict";
}

// Of the VGGs, vgg11, vgg11_bn and vgg16: the deeper variants repeat the same ONNX nodes (each
// PyTorch export took ~95 s of CI per variant), and every VGG is still checked against
// torchvision by name in test_zoo.cpp (ZooTorchvisionGolden).
INSTANTIATE_TEST_SUITE_P(Cases, OnnxTorchGolden,
                         ::testing::Values("ops_old", "ops_mid", "ops_new", "resnet18", "resnet34",
                                           "resnet50", "resnet101", "resnet152", "mobilenet_v2",
                                           "googlenet", "alexnet", "vgg11", "vgg11_bn", "vgg16"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace convkit
