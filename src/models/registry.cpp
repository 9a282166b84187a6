#include "convkit/models/registry.h"

#include <mutex>

#include "models/zoo.h"

namespace convkit::models {

namespace {
std::vector<ModelEntry>& entries() {
  static std::vector<ModelEntry> all = [] {
    std::vector<ModelEntry> v;
    detail::add_lenet_models(v);
    detail::add_small_cnn_models(v);
    detail::add_alexnet_models(v);
    detail::add_vgg_models(v);
    detail::add_googlenet_models(v);
    detail::add_resnet_cifar_models(v);
    detail::add_resnet_models(v);
    detail::add_mobilenet_models(v);
    detail::add_xception_models(v);
    detail::add_inception_resnet_models(v);
    return v;
  }();
  return all;
}
std::mutex mu;
}  // namespace

void register_model(ModelEntry entry) {
  std::lock_guard<std::mutex> lock(mu);
  for (const ModelEntry& e : entries())
    CONVKIT_CHECK(e.name != entry.name, "register_model: a model named '", entry.name,
                  "' is already registered");
  entries().push_back(std::move(entry));
}

std::vector<ModelEntry> list_models() {
  std::lock_guard<std::mutex> lock(mu);
  return entries();
}

ModelEntry find_model(const std::string& name) {
  std::string known;
  for (const ModelEntry& e : list_models()) {
    if (e.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw Error("unknown model '" + name + "'; known models: " + known);
}

int64_t reference_style_count(const ModelEntry& entry, const nn::Module& model) {
  int64_t n = model.num_parameters();
  if (entry.reference_counts_bn_statistics)
    for (const auto& [name, t] : model.named_buffers())
      if (name.ends_with("running_mean") || name.ends_with("running_var")) n += t.numel();
  return n;
}

std::shared_ptr<nn::Module> create_model(const std::string& name, const ModelConfig& config) {
  return find_model(name).make(config);
}

}  // namespace convkit::models
