// The model zoo: every registered model's parameter count against its reference, every model with
// a global-pooling head at two input sizes, and torchvision state dicts loading key for key into
// the model of the same name and reproducing PyTorch's outputs.
#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "support/golden.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

// Plain-loop kernels and the sanitizers make models over 1M parameters take minutes: those run
// with oneDNN in optimized builds only.
bool large_models_run_here() {
#ifdef CONVKIT_SANITIZE_BUILD
  return false;
#else
  return backend() != Backend::ref;
#endif
}

TEST(Zoo, ParameterCountsEqualTheReferences) {
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

// PyTorch's float32 state dict of torchvision's resnet18 (after one SGD step, written by
// tests/onnx/gen_onnx.py) loads strictly into convkit's "resnet18" and gives PyTorch's output.
TEST(Zoo, TorchvisionResNet18StateDictLoadsByName) {
  std::string why;
  if (!test::python_has("torch, torchvision, onnx", &why)) GTEST_SKIP() << why;
  if (!large_models_run_here()) GTEST_SKIP() << "resnet18 is too slow on this backend or build";
  const std::string base = test::onnx_case("resnet18");
  io::SafetensorsFile golden = io::load_safetensors(base + ".safetensors");
  std::map<std::string, Tensor> state;
  for (const auto& [key, t] : golden.tensors)
    if (key.rfind("state.", 0) == 0) state[key.substr(6)] = t;
  ASSERT_FALSE(state.empty());
  auto model = models::create_model("resnet18", {3, 1000, 224});
  model->load_state_dict(state, /*strict=*/true, base + ".safetensors");
  model->eval();
  NoGradGuard no_grad;
  Tensor y = (*model)(test::golden_tensor(golden, "input"));
  EXPECT_LE(test::rel_error(y, test::golden_tensor(golden, "eval_output_after_step_f32")), 1e-4);
}

}  // namespace
}  // namespace convkit
