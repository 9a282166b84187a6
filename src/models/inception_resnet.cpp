#include "convkit/models/inception_resnet.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
// Keras' conv2d_bn: conv without bias, BN with beta only, ReLU.
class ConvBN : public Module {
 public:
  ConvBN(int64_t in, int64_t out, int64_t kh, int64_t kw, int64_t stride, bool same)
      : Module("ConvBN") {
    Conv2dOptions o = Conv2dOptions(in, out, kh, kw).stride(stride).with_bias(false);
    if (same) o.padding(kh / 2, kw / 2);  // "same" at stride 1 is symmetric for odd kernels
    conv = register_module("conv", std::make_shared<Conv2d>(o));
    bn = register_module(
        "bn", std::make_shared<BatchNorm2d>(out, detail::kKerasBnEps, detail::kKerasBnMomentum,
                                            /*affine=*/true, /*scale=*/false));
  }
  Tensor forward(const Tensor& x) override { return relu((*bn)((*conv)(x))); }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
};

std::shared_ptr<Sequential> chain(std::initializer_list<std::shared_ptr<Module>> layers) {
  return std::make_shared<Sequential>(layers);
}
// Stride 1 pads "same", stride 2 is "valid" (as every strided layer here).
std::shared_ptr<ConvBN> cbn(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
  return std::make_shared<ConvBN>(in, out, k, k, stride, stride == 1);
}
std::shared_ptr<ConvBN> cbn_rect(int64_t in, int64_t out, int64_t kh, int64_t kw) {
  return std::make_shared<ConvBN>(in, out, kh, kw, 1, true);
}
std::shared_ptr<ConvBN> cbn_valid(int64_t in, int64_t out, int64_t k) {
  return std::make_shared<ConvBN>(in, out, k, k, 1, false);
}

// Branches concatenated over channels.
class Branches : public Module {
 public:
  Branches(const char* type, std::initializer_list<std::shared_ptr<Module>> branches)
      : Module(type) {
    int i = 0;
    for (const auto& b : branches) register_module("branch" + std::to_string(i++), b);
  }
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> outs;
    for (auto& [name, b] : named_children()) outs.push_back((*b)(x));
    return concat(outs, 1);
  }
};

// x + scale * conv2d(concat(branches(x))), then ReLU unless it is the last block.
class ResidualInception : public Module {
 public:
  ResidualInception(const char* type, int64_t width, double scale, bool relu_out,
                    std::initializer_list<std::shared_ptr<Module>> branches, int64_t mixed)
      : Module(type), scale(scale), relu_out(relu_out) {
    int i = 0;
    for (const auto& b : branches)
      this->branches.push_back(register_module("branch" + std::to_string(i++), b));
    conv2d = register_module("conv2d", std::make_shared<Conv2d>(mixed, width, 1));
  }
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> outs;
    for (auto& b : branches) outs.push_back((*b)(x));
    Tensor y = x + (*conv2d)(concat(outs, 1)) * scale;
    return relu_out ? relu(y) : y;
  }
  std::vector<std::shared_ptr<Module>> branches;
  std::shared_ptr<Conv2d> conv2d;
  double scale;
  bool relu_out;
};

std::shared_ptr<Module> block35(double scale) {
  return std::make_shared<ResidualInception>(
      "Block35", 320, scale, true,
      std::initializer_list<std::shared_ptr<Module>>{
          cbn(320, 32, 1), chain({cbn(320, 32, 1), cbn(32, 32, 3)}),
          chain({cbn(320, 32, 1), cbn(32, 48, 3), cbn(48, 64, 3)})},
      128);
}
std::shared_ptr<Module> block17(double scale) {
  return std::make_shared<ResidualInception>(
      "Block17", 1088, scale, true,
      std::initializer_list<std::shared_ptr<Module>>{
          cbn(1088, 192, 1),
          chain({cbn(1088, 128, 1), cbn_rect(128, 160, 1, 7), cbn_rect(160, 192, 7, 1)})},
      384);
}
std::shared_ptr<Module> make_block8(double scale, bool relu_out) {
  return std::make_shared<ResidualInception>(
      "Block8", 2080, scale, relu_out,
      std::initializer_list<std::shared_ptr<Module>>{
          cbn(2080, 192, 1),
          chain({cbn(2080, 192, 1), cbn_rect(192, 224, 1, 3), cbn_rect(224, 256, 3, 1)})},
      448);
}
std::shared_ptr<MaxPool2d> max3s2() { return std::make_shared<MaxPool2d>(3, 2); }
}  // namespace

InceptionResNetV2::InceptionResNetV2(int64_t in_channels, int64_t num_classes)
    : Module("InceptionResNetV2") {
  stem = {register_module("conv2d_1a", cbn(in_channels, 32, 3, 2)),
          register_module("conv2d_2a", cbn_valid(32, 32, 3)),
          register_module("conv2d_2b", cbn(32, 64, 3)),
          register_module("maxpool_3a", max3s2()),
          register_module("conv2d_3b", cbn(64, 80, 1)),
          register_module("conv2d_4a", cbn_valid(80, 192, 3)),
          register_module("maxpool_5a", max3s2())};
  mixed_5b = register_module(
      "mixed_5b",
      std::make_shared<Branches>(
          "Mixed_5b",
          std::initializer_list<std::shared_ptr<Module>>{
              cbn(192, 96, 1), chain({cbn(192, 48, 1), cbn(48, 64, 5)}),
              chain({cbn(192, 64, 1), cbn(64, 96, 3), cbn(96, 96, 3)}),
              chain({std::make_shared<AvgPool2d>(
                         Pool2dParams(3, 1).set_padding(1).set_count_include_pad(false)),
                     cbn(192, 64, 1)})}));
  repeat = register_module("repeat", std::make_shared<Sequential>());
  for (int i = 0; i < 10; ++i) repeat->add(block35(0.17));
  mixed_6a = register_module(
      "mixed_6a",
      std::make_shared<Branches>(
          "Mixed_6a",
          std::initializer_list<std::shared_ptr<Module>>{
              cbn(320, 384, 3, 2), chain({cbn(320, 256, 1), cbn(256, 256, 3), cbn(256, 384, 3, 2)}),
              max3s2()}));
  repeat_1 = register_module("repeat_1", std::make_shared<Sequential>());
  for (int i = 0; i < 20; ++i) repeat_1->add(block17(0.1));
  mixed_7a = register_module(
      "mixed_7a",
      std::make_shared<Branches>(
          "Mixed_7a",
          std::initializer_list<std::shared_ptr<Module>>{
              chain({cbn(1088, 256, 1), cbn(256, 384, 3, 2)}),
              chain({cbn(1088, 256, 1), cbn(256, 288, 3, 2)}),
              chain({cbn(1088, 256, 1), cbn(256, 288, 3), cbn(288, 320, 3, 2)}), max3s2()}));
  repeat_2 = register_module("repeat_2", std::make_shared<Sequential>());
  for (int i = 0; i < 9; ++i) repeat_2->add(make_block8(0.2, true));
  block8 = register_module("block8", make_block8(1.0, /*relu_out=*/false));
  conv2d_7b = register_module("conv2d_7b", cbn(2080, 1536, 1));
  classif = register_module("classif", std::make_shared<Linear>(1536, num_classes));
  detail::keras_init(*this);
}

Tensor InceptionResNetV2::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : stem) h = (*m)(h);
  h = (*repeat)((*mixed_5b)(h));
  h = (*repeat_1)((*mixed_6a)(h));
  h = (*block8)((*repeat_2)((*mixed_7a)(h)));
  h = (*conv2d_7b)(h);
  return (*classif)(global_avg_pool2d(h).flatten(1));
}

void detail::add_inception_resnet_models(std::vector<ModelEntry>& out) {
  out.push_back(
      ModelEntry("inception_resnet_v2", "Inception-ResNet-v2 (scaled residual Inception blocks)",
                 [](const ModelConfig& c) {
                   return std::make_shared<InceptionResNetV2>(c.in_channels, c.num_classes);
                 })
          .from_paper("Szegedy et al. 2017")
          .input(299, /*min_size=*/75)
          .reference(55873736, "Keras Applications", /*counts_bn_statistics=*/true));
}

}  // namespace convkit::models
