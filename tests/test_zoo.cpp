// The model zoo: every registered model's parameter count against its reference, every model with
// a global-pooling head at two input sizes, and torchvision state dicts loading key for key into
// the model of the same name and reproducing PyTorch's outputs.
#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "support/golden.h"
#include "support/python_oracle.h"
#include "support/test_budget.h"
#include "support/torch_golden.h"

namespace convkit {
namespace {

using test::large_models_run_here;

TEST(Zoo, ParameterCountsEqualTheReferences) {
  if (backend() == Backend::ref) GTEST_SKIP() << "construction only: runs once, in the dnnl pass";
  nn::init::SkipInitGuard skip_init;  // only the shapes matter; drawing 1G+ numbers takes a minute
  int checked = 0;
  for (const models::ModelEntry& e : models::list_models()) {
    if (e.reference_params == 0) continue;
    auto model = e.make({/*in_channels=*/3, /*num_classes=*/1000, e.input_size});
    EXPECT_EQ(models::reference_style_count(e, *model), e.reference_params)
        << e.name << " (" << e.reference_source << ")";
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(Zoo, GlobalPoolingModelsRunOnTwoInputSizes) {
  for (const models::ModelEntry& e : models::list_models()) {
    if (e.min_input_size == 0) continue;
    std::shared_ptr<nn::Module> model;
    {
      nn::init::SkipInitGuard skip_init;  // zero weights still check every shape
      model = e.make({/*in_channels=*/3, /*num_classes=*/7, e.input_size});
    }
    if (model->num_parameters() > 1'000'000 && !large_models_run_here()) continue;
    model->eval();
    NoGradGuard no_grad;
    for (int64_t size : {e.min_input_size, e.min_input_size * 3 / 2 + 1}) {
      Tensor y = (*model)(Tensor::randn({1, 3, size, size}));
      EXPECT_EQ(y.shape(), Shape({1, 7})) << e.name << " at " << size << "x" << size;
    }
  }
}

// Every zoo model that torchvision 0.14 has, against torchvision's model of the same name built
// with a fixed seed (tests/onnx/gen_onnx.py): its state dict (taken from the exported ONNX file's
// initializers, which keep the state dict's names; only num_batches_tracked is not there) loads
// strictly into convkit's native model, which must then give PyTorch's eval output within 1e-4
// and its training step (tests/support/torch_golden.h). The ONNX route is tests/test_onnx_import.
class ZooTorchvisionGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooTorchvisionGolden, StateDictLoadsByNameAndMatchesPyTorch) {
  const std::string name = GetParam();
  std::string why;
  if (!test::python_has("torch, torchvision, onnx", &why)) GTEST_SKIP() << why;
  if (!large_models_run_here()) GTEST_SKIP() << name << " is too slow on this backend or build";
  const std::string base = test::onnx_case(name);
  const test::TorchCase c{io::load_safetensors(base + ".safetensors")};
  const Tensor x = c("input");
  std::shared_ptr<nn::Module> model;
  {
    nn::init::SkipInitGuard skip_init;  // every value is overwritten below
    model = models::create_model(name, {x.size(1), c("eval_output").size(1), x.size(2)});
  }
  std::map<std::string, Tensor> state = io::load_onnx(base + ".onnx")->state_dict();
  for (const auto& [key, t] : model->state_dict())
    if (key.ends_with("num_batches_tracked") && !state.count(key)) state[key] = t;
  model->load_state_dict(state, /*strict=*/true, base + ".onnx");
  model->eval();
  {
    NoGradGuard no_grad;
    EXPECT_LE(test::rel_error((*model)(x), c("eval_output")), 1e-4) << "eval output";
  }
  test::check_training_step(*model, c, DType::f32);

  // Where the case carries PyTorch's own float32 state dict after its step (written by PyTorch
  // into the .safetensors file), it loads too and gives PyTorch's output.
  std::map<std::string, Tensor> torch_state;
  for (const auto& [key, t] : c.golden.tensors)
    if (key.rfind("state.", 0) == 0) torch_state[key.substr(6)] = t;
  if (torch_state.empty()) return;
  model->load_state_dict(torch_state, /*strict=*/true, base + ".safetensors");
  NoGradGuard no_grad;
  EXPECT_LE(test::rel_error((*model)(x), c("eval_output_after_step_f32")), 1e-4)
      << "eval output with PyTorch's state dict";
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ZooTorchvisionGolden,
                         ::testing::Values("resnet18", "resnet34", "resnet50", "resnet101",
                                           "resnet152", "mobilenet_v2", "googlenet", "alexnet",
                                           "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
                                           "vgg16_bn", "vgg19", "vgg19_bn"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace convkit
