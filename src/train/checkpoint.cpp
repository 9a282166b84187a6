#include "convkit/train/checkpoint.h"

#include <sstream>

#include "convkit/infer/bundle.h"
#include "convkit/io/safetensors.h"

namespace convkit::train {

namespace {
constexpr const char* kFormat = "1";

void expect_kind(const std::string& path, const Metadata& meta, const std::string& kind) {
  auto f = meta.find("convkit_format");
  CONVKIT_CHECK(f != meta.end(), path, ": not a convkit checkpoint (no convkit_format metadata)");
  CONVKIT_CHECK(f->second == kFormat, path, ": checkpoint format ", f->second,
                " is not supported (this build reads format ", kFormat, ")");
  auto k = meta.find("kind");
  CONVKIT_CHECK(k != meta.end() && k->second == kind, path, ": expected a ", kind,
                " checkpoint, found '", k == meta.end() ? std::string("?") : k->second, "'");
}

std::string encode(const std::vector<double>& v) {
  std::ostringstream os;
  os.precision(17);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
  return os.str();
}
std::vector<double> decode(const std::string& s) {
  std::istringstream is(s);
  std::vector<double> v;
  double d;
  while (is >> d) v.push_back(d);
  return v;
}

const std::string& need(const std::string& path, const Metadata& m, const std::string& key) {
  auto it = m.find(key);
  CONVKIT_CHECK(it != m.end(), path, ": training state lacks '", key, "'");
  return it->second;
}

int64_t to_int(const std::string& path, const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    int64_t r = std::stoll(v, &used);
    if (used == v.size()) return r;
  } catch (...) {
  }
  throw Error(path + ": training state entry '" + key + "' is not an integer: '" + v + "'");
}
}  // namespace

void save_weights(const std::string& path, const nn::Module& model, Metadata metadata) {
  metadata.insert_or_assign("convkit_format", std::string(kFormat));
  metadata.insert_or_assign("kind", std::string("weights"));
  io::save_safetensors(path, model.state_dict(), metadata);
}

Metadata load_weights(const std::string& path, nn::Module& model) {
  io::SafetensorsFile f = io::load_safetensors(path);
  // Weights written by other tools (PyTorch) carry no convkit metadata; accept them by names.
  if (f.metadata.count("convkit_format")) expect_kind(path, f.metadata, "weights");
  model.load_state_dict(f.tensors, /*strict=*/true, path);
  return f.metadata;
}

Metadata read_metadata(const std::string& path) { return io::load_safetensors(path).metadata; }

void save_train_state(const std::string& path, const nn::Module& model, const optim::Optimizer& opt,
                      const TrainState& s) {
  std::map<std::string, Tensor> tensors;
  for (auto& [k, v] : model.state_dict()) tensors["model." + k] = v;
  for (auto& [k, v] : opt.state()) tensors["optim." + k] = v;
  Metadata meta = s.extra;
  meta.insert_or_assign("convkit_format", std::string(kFormat));
  meta.insert_or_assign("kind", std::string("train_state"));
  meta["epoch"] = std::to_string(s.epoch);
  meta["next_batch"] = std::to_string(s.next_batch);
  meta["step"] = std::to_string(s.step);
  meta["best_metric"] = encode({s.best_metric});
  meta["rng_state"] = s.rng_state;
  meta["plateau_state"] = encode(s.plateau_state);
  std::vector<double> lrs;
  for (const auto& g : opt.param_groups()) lrs.push_back(g.lr);
  meta["group_lrs"] = encode(lrs);
  io::save_safetensors(path, tensors, meta);
}

TrainState load_train_state(const std::string& path, nn::Module& model, optim::Optimizer& opt) {
  io::SafetensorsFile f = io::load_safetensors(path);
  expect_kind(path, f.metadata, "train_state");
  std::map<std::string, Tensor> weights, optim_state;
  for (auto& [k, v] : f.tensors) {
    if (k.rfind("model.", 0) == 0)
      weights[k.substr(6)] = v;
    else if (k.rfind("optim.", 0) == 0)
      optim_state[k.substr(6)] = v;
    else
      throw Error(path + ": unexpected tensor '" + k + "' in a training state");
  }
  TrainState s;
  s.epoch = to_int(path, "epoch", need(path, f.metadata, "epoch"));
  s.next_batch = to_int(path, "next_batch", need(path, f.metadata, "next_batch"));
  s.step = to_int(path, "step", need(path, f.metadata, "step"));
  std::vector<double> best = decode(need(path, f.metadata, "best_metric"));
  s.best_metric = best.empty() ? -1 : best[0];
  s.rng_state = need(path, f.metadata, "rng_state");
  s.plateau_state = decode(need(path, f.metadata, "plateau_state"));
  std::vector<double> lrs = decode(need(path, f.metadata, "group_lrs"));
  CONVKIT_CHECK(lrs.size() == opt.param_groups().size(), path, ": training state has ", lrs.size(),
                " parameter groups, the optimizer ", opt.param_groups().size());
  // A failure below leaves the run unusable; the caller aborts rather than training on.
  model.load_state_dict(weights, /*strict=*/true, path);
  try {
    opt.load_state(optim_state);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  for (size_t g = 0; g < lrs.size(); ++g) opt.param_groups()[g].lr = lrs[g];
  for (auto& [k, v] : f.metadata)
    if (!s.extra.count(k)) s.extra[k] = v;
  return s;
}

}  // namespace convkit::train

namespace convkit::train {

LoadedModel load_model(const std::string& path) {
  infer::ModelBundle b = infer::load_checkpoint(path);
  return {b.module,     b.name,        b.in_channels,          b.num_classes,
          b.image_size, b.class_names, b.standardization.mean, b.standardization.std,
          b.metadata};
}

}  // namespace convkit::train
