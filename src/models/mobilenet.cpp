#include "convkit/models/mobilenet.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
// torchvision's Conv2dNormActivation with ReLU6: children 0 (conv, no bias), 1 (BN), 2 (ReLU6).
std::shared_ptr<Sequential> conv_bn_relu6(const Conv2dOptions& o, double eps, double momentum) {
  auto s = std::make_shared<Sequential>();
  s->add(std::make_shared<Conv2d>(Conv2dOptions(o).with_bias(false)));
  s->add(std::make_shared<BatchNorm2d>(o.out_channels, eps, momentum));
  s->add(std::make_shared<ReLU6>());
  return s;
}

using detail::kKerasBnEps, detail::kKerasBnMomentum;

// torchvision's _make_divisible: the nearest multiple of 8, but never below 90% of v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t r = std::max(divisor, int64_t(v + divisor / 2.0) / divisor * divisor);
  if (double(r) < 0.9 * v) r += divisor;
  return r;
}

// A depthwise separable block of MobileNetV1: "dw" (3x3, groups = channels) and "pw" (1x1).
class DepthwiseSeparable : public Module {
 public:
  DepthwiseSeparable(int64_t in, int64_t out, int64_t stride) : Module("DepthwiseSeparable") {
    dw = register_module(
        "dw", conv_bn_relu6(Conv2dOptions(in, in, 3).stride(stride).same().groups(in), kKerasBnEps,
                            kKerasBnMomentum));
    pw = register_module("pw",
                         conv_bn_relu6(Conv2dOptions(in, out, 1), kKerasBnEps, kKerasBnMomentum));
  }
  Tensor forward(const Tensor& x) override { return (*pw)((*dw)(x)); }
  std::shared_ptr<Sequential> dw, pw;
};
}  // namespace

MobileNetV1::MobileNetV1(int64_t in_channels, int64_t num_classes, double alpha, double dropout)
    : Module("MobileNetV1") {
  CONVKIT_CHECK(alpha > 0, "MobileNetV1: the width multiplier alpha must be positive, got ", alpha);
  auto width = [alpha](int64_t c) { return std::max<int64_t>(1, int64_t(double(c) * alpha)); };
  features = register_module("features", std::make_shared<Sequential>());
  int64_t in = width(32);
  features->add(conv_bn_relu6(Conv2dOptions(in_channels, in, 3).stride(2).same(), kKerasBnEps,
                              kKerasBnMomentum));
  // (pointwise channels, depthwise stride) of the 13 blocks, the paper's table 1.
  const std::pair<int64_t, int64_t> blocks[] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                                                {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                                                {512, 1}, {1024, 2}, {1024, 1}};
  for (auto [channels, stride] : blocks) {
    features->add(std::make_shared<DepthwiseSeparable>(in, width(channels), stride));
    in = width(channels);
  }
  classifier = register_module("classifier", std::make_shared<Sequential>());
  classifier->add(std::make_shared<Dropout>(dropout));
  classifier->add(std::make_shared<Linear>(in, num_classes));
  detail::keras_init(*this);
}

Tensor MobileNetV1::forward(const Tensor& x) {
  return (*classifier)(global_avg_pool2d((*features)(x)).flatten(1));
}

InvertedResidual::InvertedResidual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
    : Module("InvertedResidual"), use_res_connect(stride == 1 && in == out) {
  const int64_t hidden = in * expand_ratio;
  conv = register_module("conv", std::make_shared<Sequential>());
  if (expand_ratio != 1) conv->add(conv_bn_relu6(Conv2dOptions(in, hidden, 1), 1e-5, 0.1));
  conv->add(conv_bn_relu6(Conv2dOptions(hidden, hidden, 3).stride(stride).padding(1).groups(hidden),
                          1e-5, 0.1));
  conv->add(std::make_shared<Conv2d>(Conv2dOptions(hidden, out, 1).with_bias(false)));
  conv->add(std::make_shared<BatchNorm2d>(out));
}

Tensor InvertedResidual::forward(const Tensor& x) {
  Tensor h = (*conv)(x);
  return use_res_connect ? x + h : h;
}

MobileNetV2::MobileNetV2(int64_t in_channels, int64_t num_classes, double width_mult,
                         double dropout)
    : Module("MobileNetV2") {
  CONVKIT_CHECK(width_mult > 0, "MobileNetV2: the width multiplier must be positive, got ",
                width_mult);
  features = register_module("features", std::make_shared<Sequential>());
  int64_t in = make_divisible(32 * width_mult);
  const int64_t last = make_divisible(1280 * std::max(1.0, width_mult));
  features->add(conv_bn_relu6(Conv2dOptions(in_channels, in, 3).stride(2).padding(1), 1e-5, 0.1));
  // (expansion t, channels c, repeats n, first stride s), the paper's table 2.
  const int64_t settings[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                 {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const auto& [t, c, n, s] : settings) {
    const int64_t out = make_divisible(double(c) * width_mult);
    for (int64_t i = 0; i < n; ++i) {
      features->add(std::make_shared<InvertedResidual>(in, out, i == 0 ? s : 1, t));
      in = out;
    }
  }
  features->add(conv_bn_relu6(Conv2dOptions(in, last, 1), 1e-5, 0.1));
  classifier = register_module("classifier", std::make_shared<Sequential>());
  classifier->add(std::make_shared<Dropout>(dropout));
  classifier->add(std::make_shared<Linear>(last, num_classes));
  // torchvision's init: He normal (fan_out) convolutions, N(0, 0.01) dense weights, zero biases.
  for (auto& [name, m] : named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m))
      init::kaiming_normal_(c->weight, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
    if (auto* l = dynamic_cast<Linear*>(m)) {
      init::normal_(l->weight, 0, 0.01);
      init::constant_(l->bias, 0);
    }
  }
}

Tensor MobileNetV2::forward(const Tensor& x) {
  return (*classifier)(global_avg_pool2d((*features)(x)).flatten(1));
}

void detail::keras_init(Module& model) {
  for (auto& [name, m] : model.named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      init::xavier_uniform_(c->weight);
      if (c->bias.defined()) init::constant_(c->bias, 0);
    }
    if (auto* l = dynamic_cast<Linear*>(m)) {
      init::xavier_uniform_(l->weight);
      init::constant_(l->bias, 0);
    }
  }
}

void detail::add_mobilenet_models(std::vector<ModelEntry>& out) {
  out.push_back(ModelEntry("mobilenet_v1",
                           "MobileNetV1 (depthwise separable convolutions, ReLU6), width 1.0",
                           [](const ModelConfig& c) {
                             return std::make_shared<MobileNetV1>(c.in_channels, c.num_classes);
                           })
                    .from_paper("Howard et al. 2017")
                    .input(224, /*min_size=*/32)
                    .reference(4253864, "Keras Applications", /*counts_bn_statistics=*/true));
  out.push_back(ModelEntry("mobilenet_v2",
                           "MobileNetV2 (inverted residuals, linear bottlenecks, ReLU6), width 1.0",
                           [](const ModelConfig& c) {
                             return std::make_shared<MobileNetV2>(c.in_channels, c.num_classes);
                           })
                    .from_paper("Sandler et al. 2018")
                    .input(224, /*min_size=*/32)
                    .reference(3504872, "torchvision 0.14"));
}

}  // namespace convkit::models
