// Saliency (include/convkit/viz/saliency.h): vanilla gradient and guided backprop against PyTorch
// on a small net with identical weights (tests/golden/gen_saliency.py); SmoothGrad as the mean of
// gradients at its documented noisy inputs; the saliency map; bad inputs.
#include <gtest/gtest.h>

#include <algorithm>

#include "convkit/io/safetensors.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/elementwise.h"
#include "convkit/random.h"
#include "convkit/viz/saliency.h"
#include "support/gradcheck.h"
#include "support/viz_oracle.h"

namespace convkit {
namespace {

// gen_saliency.py's net, with Sequential indices as names.
std::shared_ptr<nn::Sequential> small_net() {
  auto s = std::make_shared<nn::Sequential>();
  s->add("0", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
  s->add("1", std::make_shared<nn::ReLU>());
  s->add("2", std::make_shared<nn::MaxPool2d>(Pool2dParams(2)));
  s->add("3", std::make_shared<nn::Conv2d>(4, 6, 3, 1, 1));
  s->add("4", std::make_shared<nn::ReLU>());
  s->add("5", std::make_shared<nn::GlobalAvgPool2d>(/*flatten=*/false));
  s->add("6", std::make_shared<nn::Flatten>());
  s->add("7", std::make_shared<nn::Linear>(6, 3));
  s->eval();
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Saliency, GradientAndGuidedBackpropMatchPyTorch) {
  std::string why;
  const std::string path =
      test::viz_reference("gen_saliency.py", "saliency", "small", "torch", &why);
  if (path.empty()) GTEST_SKIP() << why;
  const io::SafetensorsFile ref = io::load_safetensors(path);
  auto net = small_net();
  std::map<std::string, Tensor> state;
  for (const auto& [key, t] : ref.tensors)
    if (key.rfind("state.", 0) == 0) state[key.substr(6)] = t;
  net->load_state_dict(state, /*strict=*/true, path);
  const Tensor x = ref.tensors.at("input");
  const std::vector<int64_t> classes = {1, 2};
  const Tensor g = viz::input_gradient(*net, x, classes);
  EXPECT_GT(test::max_abs(ref.tensors.at("gradient")), 1e-3);
  EXPECT_LE(test::max_abs_diff(g, ref.tensors.at("gradient")), 1e-5);
  viz::SaliencyOptions o;
  o.method = viz::SaliencyMethod::guided_backprop;
  const Tensor guided = viz::input_gradient(*net, x, classes, o);
  EXPECT_LE(test::max_abs_diff(guided, ref.tensors.at("guided")), 1e-5);
  EXPECT_GT(test::max_abs_diff(guided, g), 1e-3) << "guided backprop must differ from the gradient";
  // The scope is gone: a plain gradient again.
  EXPECT_LE(test::max_abs_diff(viz::input_gradient(*net, x, classes), g), 1e-7);
  for (const auto& [n, p] : net->named_parameters()) {
    EXPECT_FALSE(p.grad().defined()) << n;
    EXPECT_TRUE(p.requires_grad()) << n;
  }
}

TEST(Saliency, SmoothGradIsTheMeanGradientAtItsNoisyInputs) {
  manual_seed(3);
  auto net = small_net();
  Generator data_gen(5);
  const Tensor x = Tensor::randn({2, 3, 8, 8}, &data_gen);
  viz::SaliencyOptions o;
  o.method = viz::SaliencyMethod::smooth_grad;
  o.samples = 3;
  o.noise_level = 0.2;
  o.seed = 17;
  const Tensor smooth = viz::input_gradient(*net, x, {0, 2}, o);
  // The documented noise: per image sigma = level * (max - min), randn(x.shape) per sample.
  Tensor sigma = Tensor::empty({2, 1, 1, 1});
  for (int64_t n = 0; n < 2; ++n) {
    const float* p = x.data<float>() + n * 192;
    sigma.data<float>()[n] = 0.2f * (*std::max_element(p, p + 192) - *std::min_element(p, p + 192));
  }
  Generator gen(17);
  Tensor expect = Tensor::zeros(x.shape());
  for (int i = 0; i < 3; ++i) {
    const Tensor noisy = add(x, mul(Tensor::randn(x.shape(), &gen), sigma));
    expect = add(expect, viz::input_gradient(*net, noisy, {0, 2}));
  }
  expect = mul(expect, 1.0 / 3);
  EXPECT_LE(test::max_abs_diff(smooth, expect), 1e-6);
  EXPECT_GT(test::max_abs_diff(smooth, viz::input_gradient(*net, x, {0, 2})), 1e-4);
}

TEST(Saliency, MapIsTheChannelMaxOfTheAbsoluteGradient) {
  const Tensor g = Tensor::from_vector<float>({1, -3, 2, 0, -1, 0.5f, -2, 4}, {1, 2, 2, 2});
  const Tensor m = viz::saliency_map(g);
  EXPECT_EQ(m.shape(), Shape({1, 2, 2}));
  EXPECT_LE(test::max_abs_diff(m, Tensor::from_vector<float>({1, 3, 2, 4}, {1, 2, 2})), 0);
}

TEST(Saliency, BadInputsAreNamed) {
  manual_seed(4);
  auto net = small_net();
  const Tensor x = Tensor::randn({2, 3, 8, 8});
  EXPECT_NE(
      message_of([&] { viz::input_gradient(*net, x, {0}); }).find("1 classes given for 2 images"),
      std::string::npos);
  EXPECT_NE(message_of([&] {
              viz::input_gradient(*net, x, {0, 3});
            }).find("class index 3 is out of range: the model has 3 classes"),
            std::string::npos);
  viz::SaliencyOptions o;
  o.method = viz::SaliencyMethod::smooth_grad;
  o.samples = 0;
  EXPECT_NE(message_of([&] {
              viz::input_gradient(*net, x, {0, 1}, o);
            }).find("samples must be at least 1"),
            std::string::npos);
  EXPECT_NE(message_of([] { viz::parse_saliency_method("guide"); }).find("smoothgrad"),
            std::string::npos);
}

}  // namespace
}  // namespace convkit
