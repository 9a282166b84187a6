#include "support/torch_golden.h"

#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "support/golden.h"

namespace convkit::test {

Tensor TorchCase::operator()(const std::string& key) const { return golden_tensor(golden, key); }
double TorchCase::meta(const std::string& key) const { return std::stod(golden.metadata.at(key)); }

void check_training_step(nn::Module& model, const TorchCase& c, DType dtype) {
  constexpr double kTol = 1e-4;
  const std::string what = dtype == DType::f64 ? "float64" : "float32";
  auto tol = [&](const std::string& key) {
    return dtype == DType::f64 ? kTol : c.meta("tol_" + key);
  };
  auto in = [&](const std::string& key) { return c(key).to(dtype); };
  model.train();
  for (auto& [name, m] : model.named_modules())  // PyTorch's step ran without dropout's masks
    if (dynamic_cast<nn::Dropout*>(m)) m->eval();
  Tensor y = model(in("train_input"));
  EXPECT_LE(rel_error(y, c("train_output")), tol("train_output")) << what << " training output";
  sum(y * in("train_upstream")).backward();
  std::map<std::string, Tensor> state = model.state_dict();
  const std::string grad_param = c.golden.metadata.at("grad_param");
  ASSERT_TRUE(state.count(grad_param)) << grad_param << " is not in the model's state dict";
  ASSERT_TRUE(state[grad_param].grad().defined()) << grad_param;
  EXPECT_LE(rel_error(state[grad_param].grad(), c("train_grad")), tol("train_grad"))
      << what << " gradient of " << grad_param;
  if (c.has_meta("bn_param")) {
    const std::string bn = c.golden.metadata.at("bn_param");
    ASSERT_TRUE(state.count(bn)) << bn;
    EXPECT_LE(rel_error(state[bn], c("train_running_mean")), tol("train_running_mean"))
        << what << " " << bn;
  }
  optim::SGD(optim::single_group(model, c.meta("lr"))).step();
  model.eval();
  NoGradGuard no_grad;
  EXPECT_LE(rel_error(model(in("input")), c("eval_output_after_step")),
            tol("eval_output_after_step"))
      << what << " eval output after one SGD step";
}

}  // namespace convkit::test
