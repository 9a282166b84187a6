#include "convkit/models/vgg.h"

#include <utility>
#include <vector>

#include "convkit/nn/init.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
// Output channels of each 3x3 convolution; 0 is a 2x2/2 max pool (torchvision's "M").
std::vector<int64_t> configuration(int64_t depth) {
  switch (depth) {
    case 11:
      return {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 13:
      return {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 16:
      return {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
    case 19:
      return {64,  64,  0,   128, 128, 0,   256, 256, 256, 256, 0,
              512, 512, 512, 512, 0,   512, 512, 512, 512, 0};
    default:
      throw Error("VGG: depth must be 11, 13, 16 or 19, got " + std::to_string(depth));
  }
}
}  // namespace

VGG::VGG(int64_t depth, int64_t in_channels, int64_t num_classes, bool batch_norm, bool gap,
         double dropout)
    : Module("VGG") {
  features = register_module("features", std::make_shared<Sequential>());
  int64_t in = in_channels;
  for (int64_t v : configuration(depth)) {
    if (v == 0) {
      features->add(std::make_shared<MaxPool2d>(2, 2));
      continue;
    }
    features->add(std::make_shared<Conv2d>(in, v, 3, 1, 1));
    if (batch_norm) features->add(std::make_shared<BatchNorm2d>(v));
    features->add(std::make_shared<ReLU>());
    in = v;
  }
  if (gap) {
    avgpool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
    classifier = register_module("classifier", std::make_shared<Sequential>());
    classifier->add(std::make_shared<Dropout>(dropout));
    classifier->add(std::make_shared<Linear>(512, num_classes));
  } else {
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(7, 7));
    classifier = register_module(
        "classifier", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                          std::make_shared<Linear>(512 * 7 * 7, 4096), std::make_shared<ReLU>(),
                          std::make_shared<Dropout>(dropout), std::make_shared<Linear>(4096, 4096),
                          std::make_shared<ReLU>(), std::make_shared<Dropout>(dropout),
                          std::make_shared<Linear>(4096, num_classes)}));
  }
  // torchvision's init: He normal (fan_out) convolutions with zero bias, BN 1/0 (the defaults),
  // dense N(0, 0.01) with zero bias.
  for (auto& [name, m] : named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      init::kaiming_normal_(c->weight, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
      init::constant_(c->bias, 0);
    } else if (auto* l = dynamic_cast<Linear*>(m)) {
      init::normal_(l->weight, 0, 0.01);
      init::constant_(l->bias, 0);
    }
  }
}

Tensor VGG::forward(const Tensor& x) {
  Tensor h = (*avgpool)((*features)(x));
  return (*classifier)(h.flatten(1));
}

void detail::add_vgg_models(std::vector<ModelEntry>& out) {
  // torchvision 0.14's counts for 3 channels and 1000 classes.
  const std::pair<int, std::pair<int64_t, int64_t>> depths[] = {{11, {132863336, 132868840}},
                                                                {13, {133047848, 133053736}},
                                                                {16, {138357544, 138365992}},
                                                                {19, {143667240, 143678248}}};
  // [depth = depth] below: clang 14 (the fuzz build) cannot capture a structured binding.
  for (auto [depth, params] : depths)
    for (bool bn : {false, true}) {
      const std::string name = "vgg" + std::to_string(depth) + (bn ? "_bn" : "");
      out.push_back(
          ModelEntry(name, "VGG-" + std::to_string(depth) + (bn ? " with batch norm" : ""),
                     [depth = depth, bn](const ModelConfig& c) {
                       return std::make_shared<VGG>(depth, c.in_channels, c.num_classes, bn);
                     })
              .from_paper(bn ? "Simonyan & Zisserman 2015; Ioffe & Szegedy 2015"
                             : "Simonyan & Zisserman 2015")
              .input(224, /*min_size=*/32)
              .reference(bn ? params.second : params.first, "torchvision 0.14"));
    }
  for (bool bn : {false, true})
    out.push_back(ModelEntry(bn ? "vgg16_bn-gap" : "vgg16-gap",
                             std::string("VGG-16") + (bn ? " with batch norm" : "") +
                                 " and a global-average-pooling head",
                             [bn](const ModelConfig& c) {
                               return std::make_shared<VGG>(16, c.in_channels, c.num_classes, bn,
                                                            /*gap=*/true);
                             })
                      .from_paper("Simonyan & Zisserman 2015; Lin et al. 2014 (GAP head)")
                      .input(224, /*min_size=*/32));
}

}  // namespace convkit::models
