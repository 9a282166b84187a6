#include "convkit/style/features.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/io/state_dict.h"
#include "convkit/models/vgg.h"
#include "convkit/ops/elementwise.h"
#include "convkit/random.h"

namespace convkit::style {

namespace {

// The trunk of torchvision's VGG-<depth> (the zoo's; its small GAP head is dropped at once).
std::shared_ptr<nn::Sequential> vgg_trunk(int64_t depth) {
  return models::VGG(depth, /*in_channels=*/3, /*num_classes=*/1, /*batch_norm=*/false,
                     /*gap=*/true)
      .features;
}

// torchvision's index of the last convolution of VGG-<depth>'s trunk.
int64_t last_conv_index(int64_t depth) {
  switch (depth) {
    case 11:
      return 18;
    case 13:
      return 22;
    case 16:
      return 28;
    default:
      return 34;
  }
}

}  // namespace

VggFeatures::VggFeatures(std::shared_ptr<nn::Sequential> trunk) : trunk_(std::move(trunk)) {
  trunk_->eval();
  for (Tensor& p : trunk_->parameters()) p.set_requires_grad(false);
  int block = 1, conv = 0;
  for (auto& [index, layer] : trunk_->named_children()) {
    layers_.push_back(layer);
    const std::string& type = layer->type_name();
    if (type == "Conv2d") {
      names_.push_back("conv" + std::to_string(block) + "_" + std::to_string(++conv));
      ++num_convs_;
    } else if (type == "ReLU") {
      names_.push_back("relu" + std::to_string(block) + "_" + std::to_string(conv));
    } else if (type == "MaxPool2d" || type == "AvgPool2d") {
      names_.push_back("pool" + std::to_string(block++));
      conv = 0;
    } else {
      throw Error(detail::concat("style: layer ", index, " of the trunk is a ", type,
                                 "; a VGG-style trunk holds only Conv2d, ReLU and pooling layers"));
    }
  }
}

VggFeatures VggFeatures::random(int64_t depth, uint64_t seed) {
  // The zoo's constructor draws from the process-wide generator: seed it, and put it back after.
  Generator saved = default_generator();
  manual_seed(seed);
  auto trunk = vgg_trunk(depth);
  default_generator() = saved;
  // He et al. 2015's fan-in scaling keeps the activations' variance from layer to layer (the zoo's
  // fan-out init, made for training, shrinks them by sqrt(in / out) at every widening layer), so
  // every style layer's Gram matrix has the same order of magnitude and the default loss weights
  // fit. fan-in std / fan-out std = sqrt(out / in).
  for (auto& [name, m] : trunk->named_modules())
    if (auto* c = dynamic_cast<nn::Conv2d*>(m)) {
      NoGradGuard no_grad;
      c->weight.copy_(c->weight * std::sqrt(double(c->weight.size(0)) / double(c->weight.size(1))));
    }
  return VggFeatures(trunk);
}

VggFeatures VggFeatures::from_file(const std::string& path) {
  std::map<std::string, Tensor> state = io::read_state_dict(path);
  int64_t depth = 0;
  for (int64_t d : {19, 16, 13, 11})
    if (state.count("features." + std::to_string(last_conv_index(d)) + ".weight")) {
      depth = d;
      break;
    }
  CONVKIT_CHECK(state.count("features.0.weight"), path,
                ": not VGG-compatible weights: missing tensor features.0.weight (expected ",
                "torchvision's VGG names such as features.0.weight [64, 3, 3, 3]; docs/style.md ",
                "shows how to convert torchvision's VGG-19)");
  CONVKIT_CHECK(depth != 0, path,
                ": not VGG-compatible weights: missing tensor features.34.weight ",
                "(VGG-19), features.28.weight (VGG-16), features.22.weight (VGG-13) or ",
                "features.18.weight (VGG-11)");
  auto trunk = vgg_trunk(depth);
  // Only the trunk's tensors: the classifier (or anything else in the file) is not needed.
  std::map<std::string, Tensor> trunk_state;
  for (auto& [name, t] : trunk->state_dict()) {
    auto it = state.find("features." + name);
    CONVKIT_CHECK(it != state.end(), path, ": not VGG-", depth,
                  "-compatible weights: missing tensor features.", name, " (expected shape ",
                  t.shape().to_string(), ")");
    trunk_state[name] = it->second.to(t.dtype());
  }
  trunk->load_state_dict(trunk_state, /*strict=*/true, path);
  return VggFeatures(trunk);
}

int64_t VggFeatures::index_of(const std::string& layer) const {
  auto it = std::find(names_.begin(), names_.end(), layer);
  if (it != names_.end()) return it - names_.begin();
  std::string digits = layer.rfind("features.", 0) == 0 ? layer.substr(9) : layer;
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit)) {
    const int64_t i = std::stoll(digits);
    if (i < int64_t(names_.size())) return i;
  }
  std::string valid;
  for (const std::string& n : names_)
    if (n.rfind("pool", 0) != 0) valid += (valid.empty() ? "" : " ") + n;
  throw Error(detail::concat("style: no layer '", layer, "' in this VGG trunk (", num_convs_,
                             " convolutions); layers: ", valid, " (or features.0 to features.",
                             names_.size() - 1, ")"));
}

int64_t VggFeatures::poolings_before(int64_t index) const {
  return std::count_if(names_.begin(), names_.begin() + index + 1,
                       [](const std::string& n) { return n.rfind("pool", 0) == 0; });
}

TensorList VggFeatures::features(const Tensor& x, const std::vector<int64_t>& indices) {
  CONVKIT_CHECK(x.ndim() == 4 && x.size(1) == 3, "style: VGG features take images [N, 3, H, W], ",
                "got ", x.shape().to_string());
  // ImageNet's channel statistics, which torchvision's VGG weights were trained with.
  Tensor mean = Tensor::from_vector<double>({0.485, 0.456, 0.406}, {1, 3, 1, 1}).to(x.dtype());
  Tensor inv_std =
      Tensor::from_vector<double>({1 / 0.229, 1 / 0.224, 1 / 0.225}, {1, 3, 1, 1}).to(x.dtype());
  Tensor h = (x - mean) * inv_std;
  const int64_t deepest = *std::max_element(indices.begin(), indices.end());
  std::vector<Tensor> at(size_t(deepest + 1));
  for (int64_t i = 0; i <= deepest; ++i) at[size_t(i)] = h = (*layers_[size_t(i)])(h);
  TensorList out;
  for (int64_t i : indices) out.push_back(at[size_t(i)]);
  return out;
}

}  // namespace convkit::style
