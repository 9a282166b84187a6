#include "convkit/train/checkpoint.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "convkit/infer/bundle.h"
#include "convkit/io/safetensors.h"
#include "convkit/random.h"

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
// A space-separated list of numbers as encode() writes them (inf and nan included: a plateau
// schedule starts at inf); throws naming the file and the entry on anything else.
std::vector<double> decode(const std::string& path, const std::string& key, const std::string& s) {
  std::istringstream is(s);
  std::vector<double> v;
  for (std::string word; is >> word;) {
    char* end = nullptr;
    const double d = std::strtod(word.c_str(), &end);
    CONVKIT_CHECK(end == word.c_str() + word.size(), path, ": training state entry '", key,
                  "' is not a list of numbers: '", s.substr(0, 80), "'");
    v.push_back(d);
  }
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

int64_t counter(const std::string& path, const Metadata& m, const std::string& key) {
  const int64_t v = to_int(path, key, need(path, m, key));
  CONVKIT_CHECK(v >= 0, path, ": training state entry '", key, "' is ", v,
                "; it counts from 0 (a damaged or hand-edited file)");
  return v;
}

// The optimizer state must be the one `opt` itself keeps: same optimizer, every slot present (a
// count recorded at save time), no slot it does not know (a state saved by SGD would otherwise load
// into Adam as "no history yet"). Before loading: the name and the count.
void check_optimizer_saved(const std::string& path, const Metadata& meta,
                           const std::map<std::string, Tensor>& saved,
                           const optim::Optimizer& opt) {
  auto name = meta.find("optimizer");
  CONVKIT_CHECK(name == meta.end() || name->second == opt.name(), path,
                ": the training state was saved by the ", name->second,
                " optimizer, this run uses ", opt.name(),
                " (resume with the same optimizer, or start a new run)");
  auto count = meta.find("optimizer_entries");
  if (count == meta.end()) return;  // written before the count was recorded
  const int64_t want = to_int(path, "optimizer_entries", count->second);
  CONVKIT_CHECK(int64_t(saved.size()) == want, path, ": the training state lists ", want,
                " optimizer entries but holds ", saved.size(),
                " (an optimizer slot is missing: a damaged or edited file)");
}

// After `opt` loaded `saved`: each saved slot is one `opt` keeps.
void check_optimizer_slots(const std::string& path, const std::map<std::string, Tensor>& saved,
                           const optim::Optimizer& opt) {
  const std::map<std::string, Tensor> kept = opt.state();
  for (const auto& entry : saved)
    CONVKIT_CHECK(kept.count(entry.first), path, ": optimizer entry 'optim.", entry.first,
                  "' is not one ", opt.name(),
                  " keeps for this model (saved by another optimizer or for another model?)");
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
  meta["optimizer"] = opt.name();
  meta["optimizer_entries"] = std::to_string(opt.state().size());
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
  s.epoch = counter(path, f.metadata, "epoch");
  s.next_batch = counter(path, f.metadata, "next_batch");
  s.step = counter(path, f.metadata, "step");
  std::vector<double> best = decode(path, "best_metric", need(path, f.metadata, "best_metric"));
  CONVKIT_CHECK(best.size() <= 1, path, ": training state entry 'best_metric' holds ", best.size(),
                " numbers, not one");
  s.best_metric = best.empty() ? -1 : best[0];
  s.rng_state = need(path, f.metadata, "rng_state");
  try {
    Generator().set_state(s.rng_state);  // the caller restores it; check it here, by file
  } catch (const Error& e) {
    throw Error(path + ": training state entry 'rng_state': " + e.what());
  }
  s.plateau_state = decode(path, "plateau_state", need(path, f.metadata, "plateau_state"));
  std::vector<double> lrs = decode(path, "group_lrs", need(path, f.metadata, "group_lrs"));
  CONVKIT_CHECK(lrs.size() == opt.param_groups().size(), path, ": training state has ", lrs.size(),
                " parameter groups, the optimizer ", opt.param_groups().size());
  for (double lr : lrs)
    CONVKIT_CHECK(std::isfinite(lr) && lr >= 0, path, ": training state entry 'group_lrs' holds ",
                  "the learning rate ", lr, " (a damaged file)");
  // A failure below leaves the run unusable; the caller aborts rather than training on.
  model.load_state_dict(weights, /*strict=*/true, path);
  check_optimizer_saved(path, f.metadata, optim_state, opt);
  try {
    opt.load_state(optim_state);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  check_optimizer_slots(path, optim_state, opt);
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
