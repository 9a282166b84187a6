// Vanilla gradient, SmoothGrad and guided backprop (include/convkit/viz/saliency.h).
#include "convkit/viz/saliency.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/random.h"
#include "viz/frozen.h"

namespace convkit::viz {

SaliencyMethod parse_saliency_method(const std::string& name) {
  if (name == "gradient") return SaliencyMethod::gradient;
  if (name == "smoothgrad") return SaliencyMethod::smooth_grad;
  if (name == "guided") return SaliencyMethod::guided_backprop;
  throw Error("saliency: unknown method '" + name + "'; use gradient, smoothgrad or guided");
}

namespace {

// While alive, collects every relu op's output (the observer runs before the op is recorded, so
// the hooks go on afterwards: hook_outputs()). The hook max(dy, 0) followed by relu's own backward
// [x > 0] is guided backprop's rule.
class GuidedReluScope {
 public:
  GuidedReluScope() {
    autograd::set_op_observer([this](const autograd::OpValue& v) {
      if (!v.backward && std::string_view(v.op) == "relu") outputs_.push_back(v.value);
    });
  }
  ~GuidedReluScope() { autograd::set_op_observer(nullptr); }
  GuidedReluScope(const GuidedReluScope&) = delete;
  GuidedReluScope& operator=(const GuidedReluScope&) = delete;
  void hook_outputs() {
    autograd::set_op_observer(nullptr);
    for (Tensor& out : outputs_)
      if (out.requires_grad()) out.register_hook([](const Tensor& g) { return relu(g); });
  }

 private:
  std::vector<Tensor> outputs_;
};

struct GradModeOn {
  bool prev = autograd::grad_enabled();
  GradModeOn() { autograd::set_grad_enabled(true); }
  ~GradModeOn() { autograd::set_grad_enabled(prev); }
};

// dy_c/dx at x (one class per row), guided when asked.
Tensor gradient_at(nn::Module& model, const Tensor& x, const std::vector<int64_t>& classes,
                   bool guided) {
  Tensor leaf = x.detach().clone().detach();
  leaf.set_requires_grad(true);
  std::optional<GuidedReluScope> scope;
  if (guided) scope.emplace();
  const Tensor logits = model(leaf);
  if (scope) scope->hook_outputs();
  const int64_t N = x.size(0);
  CONVKIT_CHECK(logits.ndim() == 2 && logits.size(0) == N, "saliency: the model's output is ",
                logits.shape().to_string(), ", not class scores [N, num_classes]");
  const int64_t C = logits.size(1);
  Tensor onehot = Tensor::zeros({N, C});
  for (int64_t n = 0; n < N; ++n) {
    CONVKIT_CHECK(classes[n] >= 0 && classes[n] < C, "saliency: class index ", classes[n],
                  " is out of range: the model has ", C, " classes (0..", C - 1, ")");
    onehot.data<float>()[n * C + classes[n]] = 1.0f;
  }
  CONVKIT_CHECK(logits.requires_grad(),
                "saliency: the model's output does not depend on its input");
  return autograd::grad({logits}, {leaf}, {onehot.to(logits.dtype())})[0].to(DType::f32);
}

}  // namespace

Tensor input_gradient(nn::Module& model, const Tensor& inputs, const std::vector<int64_t>& classes,
                      const SaliencyOptions& o) {
  CONVKIT_CHECK(inputs.ndim() == 4, "saliency: inputs must be [N, C, H, W], got ",
                inputs.shape().to_string());
  CONVKIT_CHECK(int64_t(classes.size()) == inputs.size(0), "saliency: ", classes.size(),
                " classes given for ", inputs.size(0), " images (one per image)");
  CONVKIT_CHECK(o.samples >= 1, "saliency: samples must be at least 1, got ", o.samples);
  CONVKIT_CHECK(o.noise_level >= 0, "saliency: noise_level must be >= 0, got ", o.noise_level);
  detail::FrozenParameters frozen(model);
  GradModeOn grad_on;
  if (o.method != SaliencyMethod::smooth_grad)
    return gradient_at(model, inputs, classes, o.method == SaliencyMethod::guided_backprop);

  // sigma per image, broadcast over [C, H, W].
  const Tensor x = inputs.detach().to(DType::f32);
  const int64_t N = x.size(0), per = x.numel() / N;
  Tensor sigma = Tensor::empty({N, 1, 1, 1});
  for (int64_t n = 0; n < N; ++n) {
    const float* p = x.data<float>() + n * per;
    const auto [lo, hi] = std::minmax_element(p, p + per);
    sigma.data<float>()[n] = static_cast<float>(o.noise_level * (*hi - *lo));
  }
  Generator gen(o.seed);
  Tensor sum = Tensor::zeros(x.shape());
  for (int64_t i = 0; i < o.samples; ++i) {
    const Tensor noisy = add(x, mul(Tensor::randn(x.shape(), &gen), sigma));
    sum = add(sum, gradient_at(model, noisy.to(inputs.dtype()), classes, /*guided=*/false));
  }
  return mul(sum, 1.0 / static_cast<double>(o.samples));
}

Tensor saliency_map(const Tensor& gradient) {
  CONVKIT_CHECK(gradient.ndim() == 4, "saliency_map: expected a gradient [N, C, H, W], got ",
                gradient.shape().to_string());
  const Tensor g = gradient.detach().to(DType::f32);
  const int64_t N = g.size(0), C = g.size(1), HW = g.size(2) * g.size(3);
  Tensor out = Tensor::zeros({N, g.size(2), g.size(3)});
  float* o = out.data<float>();
  const float* p = g.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i)
        o[n * HW + i] = std::max(o[n * HW + i], std::abs(p[(n * C + c) * HW + i]));
  return out;
}

}  // namespace convkit::viz
