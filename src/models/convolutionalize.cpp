#include "convkit/models/convolutionalize.h"

#include <string>
#include <utility>
#include <vector>

#include "convkit/autograd.h"

namespace convkit::models {

using namespace nn;

namespace {
struct Parts {
  std::shared_ptr<Module> features, avgpool;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> head;  // dotted names for errors
};

bool has_child(const Module& m, const std::string& name) {
  for (const auto& [n, c] : m.named_children())
    if (n == name) return true;
  return false;
}

Parts split(Module& model) {
  Parts p;
  if (has_child(model, "features") && has_child(model, "classifier")) {
    p.features = model.child("features");
    if (has_child(model, "avgpool")) p.avgpool = model.child("avgpool");
    for (auto& [n, c] : model.child("classifier")->named_children())
      p.head.emplace_back("classifier." + n, c);
    return p;
  }
  if (auto* seq = dynamic_cast<Sequential*>(&model)) {
    auto features = std::make_shared<Sequential>();
    bool after = false;
    for (auto& [n, c] : seq->named_children()) {
      if (!after && dynamic_cast<Flatten*>(c.get())) {
        after = true;
        continue;
      }
      if (after)
        p.head.emplace_back(n, c);
      else
        features->add(n, c);  // keep the original names
    }
    CONVKIT_CHECK(after, "convolutionalize: ", model.type_name(),
                  " is a Sequential without a Flatten layer, "
                  "so it has no dense head to convert");
    p.features = features;
    return p;
  }
  throw Error("convolutionalize: " + model.type_name() +
              " has neither torchvision's features/classifier children nor a Flatten layer");
}

int64_t input_channels(Module& features) {
  for (auto& [n, m] : features.named_modules())
    if (auto* c = dynamic_cast<Conv2d*>(m)) return c->options().in_channels;
  throw Error("convolutionalize: the features hold no Conv2d, so the input channels are unknown");
}

bool elementwise(const Module& m) {
  return dynamic_cast<const ReLU*>(&m) || dynamic_cast<const ReLU6*>(&m) ||
         dynamic_cast<const LeakyReLU*>(&m) || dynamic_cast<const ELU*>(&m) ||
         dynamic_cast<const Sigmoid*>(&m) || dynamic_cast<const Tanh*>(&m) ||
         dynamic_cast<const Dropout*>(&m);
}
}  // namespace

std::shared_ptr<Sequential> convolutionalize(Module& model, int64_t image_size) {
  Parts p = split(model);
  const int64_t channels = input_channels(*p.features);
  Shape maps;
  {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    Tensor h = (*p.features)(Tensor::zeros({1, channels, image_size, image_size}));
    model.train(was_training);
    maps = h.shape();
    if (p.avgpool) {
      CONVKIT_CHECK(
          !dynamic_cast<GlobalAvgPool2d*>(p.avgpool.get()), "convolutionalize: ", model.type_name(),
          " has a global-average-pooling head; it already runs on any input size (its class "
          "activation maps are the per-position form)");
      const Shape pooled = (*p.avgpool)(h).shape();
      CONVKIT_CHECK(pooled == maps, "convolutionalize: avgpool turns the ", image_size, "x",
                    image_size, " feature maps ", maps.to_string(), " into ", pooled.to_string(),
                    "; it must be the identity at the training size "
                    "(e.g. 224 for AlexNet and VGG)");
    }
  }
  CONVKIT_CHECK(maps.ndim() == 4, "convolutionalize: the features give ", maps.to_string(),
                ", not [1, C, h, w] maps");

  auto out = std::make_shared<Sequential>();
  out->add("features", p.features);
  auto head = out->add("head", std::make_shared<Sequential>());
  int64_t c = maps[1], kh = maps[2], kw = maps[3];
  NoGradGuard no_grad;
  for (auto& [name, layer] : p.head) {
    if (auto* lin = dynamic_cast<Linear*>(layer.get())) {
      CONVKIT_CHECK(lin->in_features == c * kh * kw, "convolutionalize: ", name, " expects ",
                    lin->in_features, " inputs but the feature maps at ", image_size, "x",
                    image_size, " hold ", c, "x", kh, "x", kw, " = ", c * kh * kw,
                    "; is image_size the size the model was built for?");
      auto conv = std::make_shared<Conv2d>(
          Conv2dOptions(c, lin->out_features, kh, kw).with_bias(lin->bias.defined()));
      conv->weight.copy_(lin->weight.reshape({lin->out_features, c, kh, kw}));
      if (lin->bias.defined()) conv->bias.copy_(lin->bias);
      head->add(conv);
      c = lin->out_features, kh = kw = 1;
    } else if (dynamic_cast<Flatten*>(layer.get())) {
      continue;
    } else if (elementwise(*layer)) {
      head->add(layer);
    } else {
      throw Error("convolutionalize: head layer " + name + " is a " + layer->type_name() +
                  "; only Linear, Flatten and element-wise layers have a convolutional form here");
    }
  }
  out->train(model.is_training());
  return out;
}

}  // namespace convkit::models
