// Layer lookup for the visualizations (include/convkit/viz/layer.h).
#include "convkit/viz/layer.h"

#include <functional>
#include <set>
#include <sstream>

#include "convkit/autograd.h"
#include "convkit/error.h"

namespace convkit::viz {

namespace {
constexpr size_t kMaxNamesListed = 24;

// Valid paths near `path`: the children of its deepest prefix that names a module.
std::string names_near(nn::Module& model, const std::string& path) {
  std::string parent = path;
  std::vector<std::string> near;
  for (;;) {
    const size_t dot = parent.rfind('.');
    parent = dot == std::string::npos ? "" : parent.substr(0, dot);
    std::vector<std::string> found;
    for (const auto& [p, m] : model.named_modules()) {
      if (p.empty() || !nn::has_prefix(p, parent) || p == parent) continue;
      const std::string rest = parent.empty() ? p : p.substr(parent.size() + 1);
      if (rest.find('.') == std::string::npos) found.push_back(p);
    }
    if (!found.empty() || parent.empty()) {
      near = found;
      break;
    }
  }
  std::ostringstream os;
  for (size_t i = 0; i < near.size() && i < kMaxNamesListed; ++i) os << (i ? ", " : "") << near[i];
  if (near.size() > kMaxNamesListed) os << ", ... (" << near.size() - kMaxNamesListed << " more)";
  return os.str();
}

bool contains_conv(nn::Module& m) {
  for (const auto& [p, sub] : m.named_modules())
    if (sub->type_name() == "Conv2d" || sub->type_name() == "Conv") return true;  // ONNX: "Conv"
  return false;
}
}  // namespace

nn::Module& find_layer(nn::Module& model, const std::string& path, const std::string& model_name) {
  CONVKIT_CHECK(!path.empty(), "viz: the layer name is empty; layers of ", model_name, ": ",
                names_near(model, ""));
  for (const auto& [p, m] : model.named_modules())
    if (p == path) return *m;
  throw Error("viz: no layer '" + path + "' in " + model_name + "; layers there: " +
              names_near(model, path) + "; run `convkit summary` on the model for all of them");
}

std::vector<LayerOutput> layer_outputs(nn::Module& model, const Tensor& inputs) {
  std::vector<LayerOutput> outputs;
  std::vector<nn::HookHandle> hooks;
  for (const auto& [path, m] : model.named_modules()) {
    if (path.empty()) continue;
    const bool conv = contains_conv(*m);
    hooks.push_back(m->register_forward_hook(
        [&outputs, path = path, conv](nn::Module& mod, const nn::TensorList&, nn::TensorList& out) {
          if (!out.empty() && out[0].defined())
            outputs.push_back({path, mod.type_name(), out[0].shape(), conv});
        }));
  }
  NoGradGuard no_grad;
  model(inputs);
  return outputs;
}

std::string default_cam_layer(nn::Module& model, const Tensor& inputs,
                              const std::string& model_name) {
  // Layers that keep the shape and act per element: the map after them is what the next layer sees.
  // (convkit's module types, then the ONNX op types an imported graph's layers are named by).
  static const std::set<std::string> elementwise = {
      "ReLU",        "ReLU6", "LeakyReLU", "ELU",       "Sigmoid", "Tanh",
      "BatchNorm2d", "Relu",  "Clip",      "LeakyRelu", "Elu",     "BatchNormalization"};
  const std::vector<LayerOutput> outs = layer_outputs(model, inputs);
  for (size_t i = outs.size(); i-- > 0;) {
    const LayerOutput& o = outs[i];
    if (!o.has_conv || o.shape.ndim() != 4 || o.shape.dim(2) * o.shape.dim(3) <= 1) continue;
    size_t chosen = i;
    while (chosen + 1 < outs.size() && elementwise.count(outs[chosen + 1].type) &&
           outs[chosen + 1].shape == o.shape)
      ++chosen;
    return outs[chosen].path;
  }
  throw Error("viz: " + model_name + " has no convolutional layer with a spatial output at input " +
              inputs.shape().to_string() +
              "; name one with --layer (layers: " + names_near(model, "") + ")");
}

void check_spatial_map(const std::string& path, const Shape& shape, const std::string& what) {
  CONVKIT_CHECK(
      shape.ndim() == 4, what, ": layer '", path, "' produces ", shape.to_string(),
      ", not a spatial map [N, C, H, W]; choose a convolutional layer or block (e.g. the ",
      "last conv block before global pooling)");
}

}  // namespace convkit::viz
