#include "convkit/infer/bundle.h"

#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/io/onnx.h"
#include "convkit/io/safetensors.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/transfer/recipe.h"
#include "convkit/transfer/truncated.h"

namespace convkit::infer {

namespace {

bool ends_with_onnx(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

// The model-shape part of the registry entry, when `name` is registered.
void apply_registry(ModelBundle& b) {
  for (const models::ModelEntry& e : models::list_models())
    if (e.name == b.name) {
      b.min_input_size = e.min_input_size;
      b.fixed_input_size = e.min_input_size == 0;
    }
}

// The training config convkit writes into checkpoints (and export copies into ONNX metadata):
// {"in_channels", "num_classes", "image_size", "class_names", "normalization", "preprocessing"}.
void apply_config(ModelBundle& b, const std::string& config) {
  try {
    auto j = nlohmann::json::parse(config);
    b.in_channels = j.value("in_channels", b.in_channels);
    b.num_classes = j.value("num_classes", b.num_classes);
    b.image_size = j.value("image_size", b.image_size > 0 ? b.image_size : int64_t(28));
    if (j.contains("class_names")) b.class_names = j["class_names"].get<std::vector<std::string>>();
    if (j.contains("normalization")) {
      b.standardization.mean = j["normalization"].at("mean").get<std::vector<double>>();
      b.standardization.std = j["normalization"].at("std").get<std::vector<double>>();
    }
    if (j.contains("preprocessing")) {
      b.preprocessing = data::ImagePreprocessing::from_json(j["preprocessing"].dump());
      b.trained_on_images = true;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(b.source + ": malformed 'config' metadata: " + e.what());
  } catch (const Error& e) {
    throw Error(b.source + ": malformed 'config' metadata: " + e.what());
  }
  // Bounded: the model is built from these before any tensor is read, so a hostile file must
  // not make it allocate without limit.
  CONVKIT_CHECK(b.in_channels > 0 && b.in_channels <= 1024 && b.image_size > 0 &&
                    b.image_size <= 16384 && b.num_classes <= 1'000'000,
                b.source, ": 'config' metadata gives ", b.in_channels,
                " input channels, image size ", b.image_size, " and ", b.num_classes,
                " classes (expected 1-1024 channels, sizes up to 16384, up to 1,000,000 classes)");
  CONVKIT_CHECK(b.standardization.mean.size() == b.standardization.std.size() &&
                    (b.standardization.mean.empty() ||
                     int64_t(b.standardization.mean.size()) == b.in_channels),
                b.source, ": 'config' standardization has ", b.standardization.mean.size(),
                " means and ", b.standardization.std.size(), " deviations for ", b.in_channels,
                " input channels");
  for (double sd : b.standardization.std)
    CONVKIT_CHECK(sd > 0, b.source, ": 'config' standardization has a deviation of ", sd);
  CONVKIT_CHECK(!b.trained_on_images || (b.preprocessing.channels() == b.in_channels &&
                                         b.preprocessing.image_size == b.image_size),
                b.source, ": 'config' preprocessing makes ", b.preprocessing.channels(), "x",
                b.preprocessing.image_size, "x", b.preprocessing.image_size, " inputs for a ",
                b.in_channels, "x", b.image_size, "x", b.image_size, " model");
}

// A model trained on tensors: its input size and channels, no extra resize.
void default_preprocessing(ModelBundle& b) {
  if (b.trained_on_images) return;
  b.preprocessing.image_size = b.image_size;
  b.preprocessing.load_size = 0;
  b.preprocessing.color = b.in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
}

// A `convkit transfer` result: the registry model `b.name` built for the base's class count, cut
// at the saved layer, with the new head (TransferModel's parameter names).
std::shared_ptr<nn::Module> transfer_module(const ModelBundle& b, const std::string& spec) {
  int64_t base_classes = 0;
  std::string cut;
  bool pool = false;
  try {
    const auto j = nlohmann::json::parse(spec);
    base_classes = j.at("base_classes").get<int64_t>();
    cut = j.at("cut").get<std::string>();
    pool = j.value("pool", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(b.source + ": malformed 'transfer' metadata: " + e.what());
  }
  // The base's classifier is built and then cut away: a hostile count must not allocate it.
  CONVKIT_CHECK(base_classes > 0 && base_classes <= 1'000'000 && !cut.empty(), b.source,
                ": 'transfer' metadata gives ", base_classes, " base classes and cut '", cut,
                "' (expected 1 to 1,000,000 classes and a layer name)");
  auto base = models::create_model(b.name, {b.in_channels, base_classes, b.image_size});
  auto cut_base = std::make_shared<transfer::Truncated>(
      std::move(base), cut, Shape{b.in_channels, b.image_size, b.image_size}, pool);
  return std::make_shared<transfer::TransferModel>(std::move(cut_base), b.num_classes);
}

void load_tensors(const ModelBundle& b, const std::map<std::string, Tensor>& tensors) {
  b.module->load_state_dict(tensors, /*strict=*/true, b.source);
}

}  // namespace

std::string ModelBundle::describe() const { return name + " (" + source + ")"; }

std::string ModelBundle::class_name(int64_t k) const {
  return k >= 0 && k < int64_t(class_names.size()) ? class_names[size_t(k)] : std::to_string(k);
}

namespace {
ModelBundle checkpoint_bundle(const std::string& path, const io::SafetensorsFile& f) {
  ModelBundle b;
  b.source = path;
  b.metadata = f.metadata;
  auto format = f.metadata.find("convkit_format");
  CONVKIT_CHECK(format != f.metadata.end(), path,
                ": not a convkit checkpoint (no convkit_format metadata); for a torchvision state "
                "dict give the model name (--model NAME)");
  auto kind = f.metadata.find("kind");
  CONVKIT_CHECK(kind != f.metadata.end() && kind->second == "weights", path,
                ": expected a weights checkpoint, found '",
                kind == f.metadata.end() ? std::string("?") : kind->second,
                "' (training states hold the weights too; use the run's best.safetensors)");
  auto name = f.metadata.find("model");
  auto config = f.metadata.find("config");
  CONVKIT_CHECK(name != f.metadata.end() && config != f.metadata.end(), path,
                ": the file does not say which model it holds (no 'model'/'config' metadata); "
                "build the model in code and use train::load_weights");
  b.name = name->second;
  apply_config(b, config->second);
  CONVKIT_CHECK(b.num_classes > 0, path, ": 'config' metadata gives ", b.num_classes, " classes");
  default_preprocessing(b);
  apply_registry(b);
  auto transfer = f.metadata.find("transfer");
  b.module = transfer != f.metadata.end()
                 ? transfer_module(b, transfer->second)
                 : models::create_model(b.name, {b.in_channels, b.num_classes, b.image_size});
  load_tensors(b, f.tensors);
  return b;
}

ModelBundle torchvision_bundle(const std::string& path, const io::SafetensorsFile& f,
                               const TorchvisionOptions& o) {
  CONVKIT_CHECK(!o.model.empty(), path,
                ": a state dict without convkit metadata needs the model's name (--model NAME; "
                "`convkit summary --list` lists them)");
  const models::ModelEntry entry = models::find_model(o.model);
  ModelBundle b;
  b.source = path;
  b.name = o.model;
  b.metadata = f.metadata;
  b.in_channels = o.in_channels;
  b.image_size = o.image_size > 0 ? o.image_size : entry.input_size;
  b.num_classes = o.num_classes;
  if (b.num_classes <= 0) {
    // The classifier is what changes with the class count: build the model for one class and read
    // the count from the file's tensors whose shape differs there.
    std::shared_ptr<nn::Module> probe;
    {
      nn::init::SkipInitGuard shapes_only;
      probe = entry.make({b.in_channels, 1, b.image_size});
    }
    for (const auto& [key, t] : probe->state_dict()) {
      auto it = f.tensors.find(key);
      if (it != f.tensors.end() && t.ndim() >= 1 && it->second.ndim() >= 1 &&
          it->second.shape() != t.shape() && t.size(0) == 1)
        b.num_classes = it->second.size(0);
    }
    if (b.num_classes <= 0) b.num_classes = 1;
  }
  b.class_names = o.class_names;
  CONVKIT_CHECK(b.class_names.empty() || int64_t(b.class_names.size()) == b.num_classes, path, ": ",
                b.class_names.size(), " class names given for ", b.num_classes, " classes");
  b.preprocessing.image_size = b.image_size;
  b.preprocessing.load_size = o.load_size > 0 ? o.load_size : b.image_size * 256 / 224;
  b.preprocessing.color = b.in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
  b.trained_on_images = true;  // torchvision's ImageNet evaluation transform
  b.standardization = o.standardization;
  if (int64_t(b.standardization.mean.size()) != b.in_channels) b.standardization = {};
  apply_registry(b);
  {
    nn::init::SkipInitGuard loaded_below;  // strict loading overwrites every tensor
    b.module = entry.make({b.in_channels, b.num_classes, b.image_size});
  }
  load_tensors(b, f.tensors);
  return b;
}
}  // namespace

ModelBundle load_checkpoint(const std::string& path) {
  return checkpoint_bundle(path, io::load_safetensors(path));
}

ModelBundle load_torchvision(const std::string& path, const TorchvisionOptions& options) {
  return torchvision_bundle(path, io::load_safetensors(path), options);
}

ModelBundle load_onnx_bundle(const std::string& path, int64_t image_size) {
  auto model = io::load_onnx(path);
  ModelBundle b;
  b.source = path;
  b.module = model;
  b.metadata = model->metadata();
  b.name = b.metadata.count("model") ? b.metadata.at("model") : "onnx";
  const std::vector<int64_t> in = model->input_shape(model->input_names().at(0));
  CONVKIT_CHECK(in.size() == 4, path, ": the graph input '", model->input_names().at(0),
                "' is not declared as [N, C, H, W] (", in.size(), " dimensions)");
  CONVKIT_CHECK(in[1] > 0, path, ": the graph input's channel count is not declared");
  b.in_channels = in[1];
  b.image_size = in[2] > 0 ? in[2] : image_size;
  b.fixed_input_size = in[2] > 0 && in[3] > 0;
  auto config = b.metadata.find("config");
  if (config != b.metadata.end()) {
    apply_config(b, config->second);
    CONVKIT_CHECK(b.in_channels == in[1], path, ": the metadata says ", b.in_channels,
                  " input channels, the graph ", in[1]);
  }
  CONVKIT_CHECK(b.image_size > 0, path,
                ": the graph does not declare its input size; give one (--image-size)");
  default_preprocessing(b);
  return b;
}

ModelBundle load_bundle(const std::string& path, const BundleOptions& options) {
  if (ends_with_onnx(path)) return load_onnx_bundle(path, options.image_size);
  const io::SafetensorsFile f = io::load_safetensors(path);
  if (f.metadata.count("convkit_format")) return checkpoint_bundle(path, f);
  return torchvision_bundle(path, f, options.torchvision);
}

std::map<std::string, std::string> bundle_metadata(const ModelBundle& b) {
  std::map<std::string, std::string> meta = b.metadata;
  nlohmann::json config;
  if (meta.count("config")) config = nlohmann::json::parse(meta["config"], nullptr, false);
  if (!config.is_object()) config = nlohmann::json::object();
  config["in_channels"] = b.in_channels;
  config["num_classes"] = b.num_classes;
  config["image_size"] = b.image_size;
  if (!b.class_names.empty()) config["class_names"] = b.class_names;
  if (!b.standardization.mean.empty())
    config["normalization"] = {{"mean", b.standardization.mean}, {"std", b.standardization.std}};
  if (b.trained_on_images)
    config["preprocessing"] = nlohmann::json::parse(b.preprocessing.to_json());
  meta["model"] = b.name;
  meta["config"] = config.dump();
  return meta;
}

int64_t smallest_input_size(const std::string& name, int64_t in_channels) {
  const models::ModelEntry e = models::find_model(name);
  if (e.min_input_size > 0) return e.min_input_size;
  auto runs = [&](int64_t size) {
    try {
      nn::init::SkipInitGuard shapes_only;
      auto model = e.make({in_channels, 10, size});
      model->eval();
      NoGradGuard no_grad;
      (*model)(Tensor::zeros({1, in_channels, size, size}));
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  // The reference size runs (tests/test_zoo.cpp checks every model there).
  int64_t lo = 1, hi = e.input_size;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (runs(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return hi;
}

void check_input_size(const ModelBundle& b, int64_t size) {
  if (b.fixed_input_size)
    CONVKIT_CHECK(
        size == b.image_size, b.describe(), " takes ", b.image_size, "x", b.image_size,
        " inputs only (its classifier was sized for them), got ", size, "x", size,
        "; resize the images (convkit predict/eval do it from the model's preprocessing)");
  // The size the model was trained at runs, whatever the architecture's usual minimum.
  CONVKIT_CHECK(size >= b.min_input_size || size == b.image_size, b.describe(),
                " needs inputs of at least ", b.min_input_size, "x", b.min_input_size, ", got ",
                size, "x", size);
}

}  // namespace convkit::infer
