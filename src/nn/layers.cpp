#include "convkit/nn/layers.h"

#include <cmath>

#include "convkit/nn/init.h"
#include "convkit/ops.h"

namespace convkit::nn {

Conv2d::Conv2d(const Conv2dOptions& o, Generator* gen) : Module("Conv2d"), opt_(o) {
  const int64_t g = o.params.groups;
  CONVKIT_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_h > 0 && o.kernel_w > 0,
                "Conv2d: channels and kernel sizes must be positive (in ", o.in_channels, ", out ",
                o.out_channels, ", kernel ", o.kernel_h, "x", o.kernel_w, ")");
  CONVKIT_CHECK(g > 0 && o.in_channels % g == 0 && o.out_channels % g == 0, "Conv2d: groups ", g,
                " must divide in_channels ", o.in_channels, " and out_channels ", o.out_channels);
  weight = Tensor::empty({o.out_channels, o.in_channels / g, o.kernel_h, o.kernel_w});
  if (o.bias) bias = Tensor::empty({o.out_channels});
  init::torch_default_(weight, o.bias ? &bias : nullptr, gen);
  weight = register_parameter("weight", weight);
  if (o.bias) bias = register_parameter("bias", bias);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, opt_.params); }

int64_t Conv2d::macs(const Shape&, const Shape& out) const {
  // Each output element: (in/groups)*kh*kw multiply-adds.
  return out.numel() / out[0] * weight.size(1) * opt_.kernel_h * opt_.kernel_w;
}

std::string Conv2d::extra_repr() const {
  const Conv2dParams& p = opt_.params;
  std::string s = detail::concat(opt_.in_channels, "->", opt_.out_channels, ", ", opt_.kernel_h,
                                 "x", opt_.kernel_w);
  if (p.stride_h != 1 || p.stride_w != 1) s += detail::concat(", stride ", p.stride_h);
  if (p.mode == Padding::same)
    s += ", same";
  else if (p.pad_h || p.pad_w)
    s += detail::concat(", pad ", p.pad_h);
  if (p.dilation_h != 1) s += detail::concat(", dilation ", p.dilation_h);
  if (p.groups != 1) s += detail::concat(", groups ", p.groups);
  if (!opt_.bias) s += ", no bias";
  return s;
}

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator* gen)
    : Module("Linear"), in_features(in), out_features(out) {
  CONVKIT_CHECK(in > 0 && out > 0, "Linear: feature counts must be positive (in ", in, ", out ",
                out, ")");
  weight = Tensor::empty({out, in});
  if (with_bias) bias = Tensor::empty({out});
  init::torch_default_(weight, with_bias ? &bias : nullptr, gen);
  weight = register_parameter("weight", weight);
  if (with_bias) bias = register_parameter("bias", bias);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }
int64_t Linear::macs(const Shape&, const Shape& out) const {
  return out.numel() / out[0] * in_features;
}
std::string Linear::extra_repr() const { return detail::concat(in_features, "->", out_features); }

BatchNorm2d::BatchNorm2d(int64_t c, double eps, double momentum, bool affine, bool scale)
    : Module("BatchNorm2d"), channels(c), eps(eps), momentum(momentum) {
  CONVKIT_CHECK(c > 0, "BatchNorm2d: channel count must be positive, got ", c);
  if (affine && scale) weight = register_parameter("weight", Tensor::ones({c}));
  if (affine) bias = register_parameter("bias", Tensor::zeros({c}));
  running_mean = register_buffer("running_mean", Tensor::zeros({c}));
  running_var = register_buffer("running_var", Tensor::ones({c}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (is_training()) num_batches_tracked.data<int64_t>()[0] += 1;
  if (is_training() && training_norm) return training_norm(*this, x);
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}
int64_t BatchNorm2d::macs(const Shape&, const Shape& out) const { return out.numel() / out[0]; }
std::string BatchNorm2d::extra_repr() const { return std::to_string(channels); }

LocalResponseNorm::LocalResponseNorm(int64_t size, double alpha, double beta, double k)
    : Module("LocalResponseNorm"), size(size), alpha(alpha), beta(beta), k(k) {}
Tensor LocalResponseNorm::forward(const Tensor& x) {
  return local_response_norm(x, size, alpha, beta, k);
}
std::string LocalResponseNorm::extra_repr() const {
  return detail::concat("size ", size, ", alpha ", alpha, ", beta ", beta, ", k ", k);
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, params); }
std::string MaxPool2d::extra_repr() const { return params.to_string(); }
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, params); }
std::string AvgPool2d::extra_repr() const { return params.to_string(); }

Tensor GlobalAvgPool2d::forward(const Tensor& x) {
  Tensor y = global_avg_pool2d(x);
  return flatten ? y.flatten(1) : y;
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, out_h, out_w); }
std::string AdaptiveAvgPool2d::extra_repr() const { return detail::concat(out_h, "x", out_w); }

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen); }
std::string Dropout::extra_repr() const { return detail::concat("p=", p); }

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor ReLU6::forward(const Tensor& x) { return relu6(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope); }
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> layers) : Sequential() {
  for (const auto& l : layers) add(l);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& [name, child] : named_children()) h = (*child)(h);
  return h;
}

}  // namespace convkit::nn
