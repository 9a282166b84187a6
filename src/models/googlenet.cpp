#include "convkit/models/googlenet.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
std::shared_ptr<MaxPool2d> ceil_pool(int64_t k, int64_t s, int64_t pad = 0) {
  return std::make_shared<MaxPool2d>(Pool2dParams(k, s).set_padding(pad).set_ceil_mode(true));
}
}  // namespace

BasicConv2d::BasicConv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding)
    : Module("BasicConv2d") {
  conv = register_module(
      "conv", std::make_shared<Conv2d>(
                  Conv2dOptions(in, out, kernel).stride(stride).padding(padding).with_bias(false)));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out, /*eps=*/1e-3));
}

Tensor BasicConv2d::forward(const Tensor& x) { return relu((*bn)((*conv)(x))); }

Inception::Inception(int64_t in, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red,
                     int64_t ch5x5, int64_t pool_proj)
    : Module("Inception") {
  branch1 = register_module("branch1", std::make_shared<BasicConv2d>(in, ch1x1, 1));
  branch2 = register_module(
      "branch2", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                     std::make_shared<BasicConv2d>(in, ch3x3red, 1),
                     std::make_shared<BasicConv2d>(ch3x3red, ch3x3, 3, 1, 1)}));
  branch3 = register_module(
      "branch3", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                     std::make_shared<BasicConv2d>(in, ch5x5red, 1),
                     std::make_shared<BasicConv2d>(ch5x5red, ch5x5, 3, 1, 1)}));
  branch4 = register_module(
      "branch4", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                     ceil_pool(3, 1, 1), std::make_shared<BasicConv2d>(in, pool_proj, 1)}));
}

Tensor Inception::forward(const Tensor& x) {
  return concat({(*branch1)(x), (*branch2)(x), (*branch3)(x), (*branch4)(x)}, 1);
}

InceptionAux::InceptionAux(int64_t in, int64_t num_classes, double p) : Module("InceptionAux") {
  conv = register_module("conv", std::make_shared<BasicConv2d>(in, 128, 1));
  fc1 = register_module("fc1", std::make_shared<Linear>(2048, 1024));
  fc2 = register_module("fc2", std::make_shared<Linear>(1024, num_classes));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor InceptionAux::forward(const Tensor& x) {
  Tensor h = (*conv)(adaptive_avg_pool2d(x, 4, 4));
  h = relu((*fc1)(h.flatten(1)));
  return (*fc2)((*dropout)(h));
}

GoogLeNet::GoogLeNet(int64_t in_channels, int64_t num_classes, bool aux_logits, double p,
                     double p_aux)
    : Module("GoogLeNet") {
  conv1 = register_module("conv1", std::make_shared<BasicConv2d>(in_channels, 64, 7, 2, 3));
  maxpool1 = register_module("maxpool1", ceil_pool(3, 2));
  conv2 = register_module("conv2", std::make_shared<BasicConv2d>(64, 64, 1));
  conv3 = register_module("conv3", std::make_shared<BasicConv2d>(64, 192, 3, 1, 1));
  maxpool2 = register_module("maxpool2", ceil_pool(3, 2));
  inception3a =
      register_module("inception3a", std::make_shared<Inception>(192, 64, 96, 128, 16, 32, 32));
  inception3b =
      register_module("inception3b", std::make_shared<Inception>(256, 128, 128, 192, 32, 96, 64));
  maxpool3 = register_module("maxpool3", ceil_pool(3, 2));
  inception4a =
      register_module("inception4a", std::make_shared<Inception>(480, 192, 96, 208, 16, 48, 64));
  inception4b =
      register_module("inception4b", std::make_shared<Inception>(512, 160, 112, 224, 24, 64, 64));
  inception4c =
      register_module("inception4c", std::make_shared<Inception>(512, 128, 128, 256, 24, 64, 64));
  inception4d =
      register_module("inception4d", std::make_shared<Inception>(512, 112, 144, 288, 32, 64, 64));
  inception4e =
      register_module("inception4e", std::make_shared<Inception>(528, 256, 160, 320, 32, 128, 128));
  maxpool4 = register_module("maxpool4", ceil_pool(2, 2));
  inception5a =
      register_module("inception5a", std::make_shared<Inception>(832, 256, 160, 320, 32, 128, 128));
  inception5b =
      register_module("inception5b", std::make_shared<Inception>(832, 384, 192, 384, 48, 128, 128));
  if (aux_logits) {
    aux1 = register_module("aux1", std::make_shared<InceptionAux>(512, num_classes, p_aux));
    aux2 = register_module("aux2", std::make_shared<InceptionAux>(528, num_classes, p_aux));
  }
  avgpool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
  fc = register_module("fc", std::make_shared<Linear>(1024, num_classes));
  // torchvision's init: N(0, 0.01) truncated at +-2 (200 standard deviations: a plain normal) for
  // convolutions and dense weights; dense biases keep PyTorch's default; BN 1/0.
  for (auto& [name, m] : named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) init::normal_(c->weight, 0, 0.01);
    if (auto* l = dynamic_cast<Linear*>(m)) init::normal_(l->weight, 0, 0.01);
  }
}

GoogLeNetOutputs GoogLeNet::forward_with_aux(const Tensor& x) {
  GoogLeNetOutputs out;
  Tensor h = (*maxpool1)((*conv1)(x));
  h = (*maxpool2)((*conv3)((*conv2)(h)));
  h = (*maxpool3)((*inception3b)((*inception3a)(h)));
  h = (*inception4a)(h);
  if (aux1 && is_training()) out.aux1 = (*aux1)(h);
  h = (*inception4d)((*inception4c)((*inception4b)(h)));
  if (aux2 && is_training()) out.aux2 = (*aux2)(h);
  h = (*maxpool4)((*inception4e)(h));
  h = (*inception5b)((*inception5a)(h));
  out.logits = (*fc)((*dropout)((*avgpool)(h)));
  return out;
}

Tensor GoogLeNet::forward(const Tensor& x) { return forward_with_aux(x).logits; }

void detail::add_googlenet_models(std::vector<ModelEntry>& out) {
  out.push_back(ModelEntry("googlenet", "GoogLeNet (Inception v1), without the auxiliary heads",
                           [](const ModelConfig& c) {
                             return std::make_shared<GoogLeNet>(c.in_channels, c.num_classes);
                           })
                    .from_paper("Szegedy et al. 2015")
                    .input(224, /*min_size=*/15)
                    .reference(6624904, "torchvision 0.14"));
  out.push_back(ModelEntry("googlenet-aux",
                           "GoogLeNet with the two auxiliary classifiers (training only)",
                           [](const ModelConfig& c) {
                             return std::make_shared<GoogLeNet>(c.in_channels, c.num_classes,
                                                                /*aux_logits=*/true);
                           })
                    .from_paper("Szegedy et al. 2015")
                    .input(224, /*min_size=*/15)
                    .reference(13004888, "torchvision 0.14 (aux_logits=True)"));
}

}  // namespace convkit::models
