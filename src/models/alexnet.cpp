#include "convkit/models/alexnet.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                             int64_t groups = 1) {
  return std::make_shared<Conv2d>(
      Conv2dOptions(in, out, k).stride(stride).padding(pad).groups(groups));
}
std::shared_ptr<MaxPool2d> overlapping_pool(bool ceil_mode = false) {
  return std::make_shared<MaxPool2d>(Pool2dParams(3, 2).set_ceil_mode(ceil_mode));
}
std::shared_ptr<LocalResponseNorm> paper_lrn() {
  return std::make_shared<LocalResponseNorm>(5, 1e-4, 0.75, 2.0);
}

// Height (= width) of the maps that a stack of convolutions and pools makes of a size x size
// input; throws naming the layer where the input became too small.
int64_t spatial_size_after(const Sequential& features, int64_t size, const char* model) {
  for (const auto& [name, m] : features.named_children()) {
    try {
      if (auto* c = dynamic_cast<const Conv2d*>(m.get())) {
        const Conv2dParams& p = c->options().params;
        size = conv_output_size(size, c->options().kernel_h, p.stride_h, p.pad_h, p.dilation_h);
      } else if (auto* mp = dynamic_cast<const MaxPool2d*>(m.get())) {
        size = pool_output_size(size, mp->params.kernel_h, mp->params.stride_h, mp->params.pad_h,
                                mp->params.ceil_mode);
      }
    } catch (const Error& e) {
      throw Error(std::string(model) + ": the input is too small for features." + name + ": " +
                  e.what());
    }
  }
  return size;
}

// The dense head fc6-fc8 of both AlexNets and ZFNet, with dropout before fc6 and fc7.
std::shared_ptr<Sequential> dense_head(int64_t in, int64_t num_classes, double dropout) {
  return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Dropout>(dropout), std::make_shared<Linear>(in, 4096),
      std::make_shared<ReLU>(), std::make_shared<Dropout>(dropout),
      std::make_shared<Linear>(4096, 4096), std::make_shared<ReLU>(),
      std::make_shared<Linear>(4096, num_classes)});
}
}  // namespace

AlexNet::AlexNet(int64_t in_channels, int64_t num_classes, bool gap, double dropout)
    : Module("AlexNet") {
  features = register_module(
      "features", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                      conv(in_channels, 64, 11, 4, 2), std::make_shared<ReLU>(), overlapping_pool(),
                      conv(64, 192, 5, 1, 2), std::make_shared<ReLU>(), overlapping_pool(),
                      conv(192, 384, 3, 1, 1), std::make_shared<ReLU>(), conv(384, 256, 3, 1, 1),
                      std::make_shared<ReLU>(), conv(256, 256, 3, 1, 1), std::make_shared<ReLU>(),
                      overlapping_pool()}));
  if (gap) {
    avgpool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
    classifier = register_module("classifier", std::make_shared<Sequential>());
    classifier->add(std::make_shared<Dropout>(dropout));
    classifier->add(std::make_shared<Linear>(256, num_classes));
  } else {
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(6, 6));
    classifier = register_module("classifier", dense_head(256 * 6 * 6, num_classes, dropout));
  }
}

Tensor AlexNet::forward(const Tensor& x) {
  Tensor h = (*avgpool)((*features)(x));
  return (*classifier)(h.flatten(1));
}

AlexNetPaper::AlexNetPaper(int64_t in_channels, int64_t num_classes, const AlexNetPaperOptions& o)
    : Module(o.zfnet ? "ZFNet" : "AlexNetPaper") {
  const char* model = o.zfnet ? "ZFNet" : "AlexNet (paper)";
  CONVKIT_CHECK(!(o.zfnet && o.two_towers), model,
                ": ZFNet has no two-tower split; set two_towers = false");
  const int64_t g = o.two_towers ? 2 : 1;
  features = register_module("features", std::make_shared<Sequential>());
  if (o.zfnet) {
    features->add(conv(in_channels, 96, 7, 2, 1));
    features->add(std::make_shared<ReLU>());
    features->add(overlapping_pool(/*ceil_mode=*/true));
    features->add(paper_lrn());
    features->add(conv(96, 256, 5, 2, 0));
    features->add(std::make_shared<ReLU>());
    features->add(overlapping_pool(/*ceil_mode=*/true));
    features->add(paper_lrn());
  } else {
    features->add(conv(in_channels, 96, 11, 4, 0));
    features->add(std::make_shared<ReLU>());
    features->add(paper_lrn());
    features->add(overlapping_pool());
    features->add(conv(96, 256, 5, 1, 2, g));
    features->add(std::make_shared<ReLU>());
    features->add(paper_lrn());
    features->add(overlapping_pool());
  }
  features->add(conv(256, 384, 3, 1, 1));
  features->add(std::make_shared<ReLU>());
  features->add(conv(384, 384, 3, 1, 1, g));
  features->add(std::make_shared<ReLU>());
  features->add(conv(384, 256, 3, 1, 1, g));
  features->add(std::make_shared<ReLU>());
  features->add(overlapping_pool(/*ceil_mode=*/o.zfnet));
  if (o.gap) {
    features->add(std::make_shared<GlobalAvgPool2d>());
    classifier = register_module("classifier", std::make_shared<Sequential>());
    classifier->add(std::make_shared<Dropout>(o.dropout));
    classifier->add(std::make_shared<Linear>(256, num_classes));
  } else {
    const int64_t s = spatial_size_after(*features, o.image_size, model);
    classifier = register_module("classifier", dense_head(256 * s * s, num_classes, o.dropout));
  }
  // AlexNet's init (its section 5): N(0, 0.01) weights; bias 1 in conv2, conv4, conv5 and the
  // dense layers ("accelerates the early stages of learning by providing the ReLUs with positive
  // inputs"), 0 elsewhere. ZFNet (its section 3): N(0, 0.01) weights, biases 0.
  int conv_index = 0;
  for (auto& [name, m] : named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      ++conv_index;
      init::normal_(c->weight, 0, 0.01);
      init::constant_(c->bias, !o.zfnet && (conv_index == 2 || conv_index >= 4) ? 1.0 : 0.0);
    } else if (auto* l = dynamic_cast<Linear*>(m)) {
      init::normal_(l->weight, 0, 0.01);
      init::constant_(l->bias, o.zfnet ? 0.0 : 1.0);
    }
  }
}

Tensor AlexNetPaper::forward(const Tensor& x) { return (*classifier)((*features)(x).flatten(1)); }

void detail::add_alexnet_models(std::vector<ModelEntry>& out) {
  out.push_back(ModelEntry("alexnet",
                           "AlexNet as torchvision builds it (no LRN, adaptive 6x6 pool)",
                           [](const ModelConfig& c) {
                             return std::make_shared<AlexNet>(c.in_channels, c.num_classes);
                           })
                    .from_paper("Krizhevsky 2014 (One weird trick)")
                    .input(224, /*min_size=*/63)
                    .reference(61100840, "torchvision 0.14"));
  out.push_back(
      ModelEntry("alexnet-gap", "AlexNet (torchvision layout) with a global-average-pooling head",
                 [](const ModelConfig& c) {
                   return std::make_shared<AlexNet>(c.in_channels, c.num_classes, /*gap=*/true);
                 })
          .from_paper("Krizhevsky 2014; Lin et al. 2014 (GAP head)")
          .input(224, /*min_size=*/63));
  out.push_back(ModelEntry("alexnet-paper",
                           "AlexNet as published: LRN, overlapping pooling, two towers",
                           [](const ModelConfig& c) {
                             AlexNetPaperOptions o;
                             o.image_size = c.image_size;
                             return std::make_shared<AlexNetPaper>(c.in_channels, c.num_classes, o);
                           })
                    .from_paper("Krizhevsky et al. 2012")
                    .input(227)
                    .reference(60965224, "Caffe bvlc_alexnet"));
  out.push_back(ModelEntry("zfnet", "ZFNet: AlexNet with 7x7/2 first-layer filters",
                           [](const ModelConfig& c) {
                             AlexNetPaperOptions o;
                             o.zfnet = true, o.two_towers = false, o.image_size = c.image_size;
                             return std::make_shared<AlexNetPaper>(c.in_channels, c.num_classes, o);
                           })
                    .from_paper("Zeiler & Fergus 2014")
                    .input(224));
}

}  // namespace convkit::models
