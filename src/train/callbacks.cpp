#include "convkit/train/callbacks.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "convkit/random.h"
#include "convkit/train/anomaly.h"

namespace convkit::train {

namespace fs = std::filesystem;

// ---- schedules ----

void ScheduleCallback::on_step_begin(TrainContext& ctx) {
  optim::apply_schedule(*schedule_, ctx.optimizer, ctx.state.step);
}

void PlateauCallback::on_epoch_end(TrainContext& ctx, EpochRecord& r) {
  plateau_.step(r.has_val ? r.val.at("loss") : r.train.at("loss"), ctx.optimizer);
}

void PlateauCallback::load_state(const TrainState& state) {
  if (!state.plateau_state.empty()) plateau_.load_state(state.plateau_state);
}

// ---- non-finite guard ----

namespace {
std::string position(const TrainContext& ctx) {
  // ctx.state points at the step in progress (it advances after on_after_backward).
  std::string s = detail::concat("epoch ", ctx.state.epoch + 1, ", step ", ctx.state.step + 1,
                                 " (batch ", ctx.state.next_batch + 1, " of ",
                                 ctx.train_loader.num_batches(), ", dataset indices ");
  const std::vector<int64_t>& idx = ctx.batch->indices;
  for (size_t i = 0; i < idx.size() && i < 8; ++i) {
    if (i) s += ' ';
    s += std::to_string(idx[i]);
  }
  return s + (idx.size() > 8 ? " ...)" : ")");
}

const char* kCure =
    "lower the learning rate, clip the gradients (--clip-grad-norm / "
    "TrainerOptions::clip_grad_norm), or find the op with --detect-anomaly (docs/training.md)";
}  // namespace

void NonFiniteGuard::on_after_backward(TrainContext& ctx) {
  std::string what;
  const double loss = ctx.result->loss.item();
  if (!std::isfinite(loss)) {
    what = std::string("the loss is ") + (std::isnan(loss) ? "NaN" : "inf");
  } else {
    for (const auto& [name, p] : ctx.model.named_parameters()) {
      const std::string kind = non_finite_kind(p.grad());
      if (!kind.empty()) {
        what = "the gradient of " + name + " has " + kind;
        break;
      }
    }
  }
  if (what.empty()) return;
  if (skipped_ < max_skips_) {
    ++skipped_;
    ctx.skip_step = true;
    if (ctx.say)
      ctx.say(detail::concat("skipped a non-finite batch (", skipped_, " of at most ", max_skips_,
                             "): ", what, " at ", position(ctx)));
    return;
  }
  throw NonFiniteError(detail::concat(
      "training stopped: ", what, " at ", position(ctx),
      max_skips_ > 0 ? detail::concat(", after skipping ", skipped_, " such batches") : "",
      ctx.history.empty() ? ". No epoch finished, so no weights were saved; "
                          : ". The checkpoints hold the last finite weights; ",
      kCure));
}

void NonFiniteGuard::on_epoch_end(TrainContext& ctx, EpochRecord& r) {
  for (const auto& [name, p] : ctx.model.named_parameters()) {
    const std::string kind = non_finite_kind(p);
    if (!kind.empty())
      throw NonFiniteError(detail::concat("training stopped: parameter ", name, " holds ", kind,
                                          " at the end of epoch ", r.epoch,
                                          " (the last step's update overflowed); ", kCure));
  }
  for (const auto& [name, v] : r.val)
    if (!std::isfinite(v))
      throw NonFiniteError(detail::concat("training stopped: validation ", name, " is ", v,
                                          " at the end of epoch ", r.epoch, "; ", kCure));
}

// ---- checkpoints ----

namespace {
bool all_finite(const nn::Module& model) {
  for (const auto& [name, t] : model.state_dict())
    if (!non_finite_kind(t).empty()) return false;
  return true;
}
constexpr const char* kEpochLogs = "epoch_logs";
constexpr const char* kEpochSeconds = "epoch_seconds";
}  // namespace

CheckpointCallback::CheckpointCallback(CheckpointOptions options, Metadata metadata)
    : opt_(std::move(options)), metadata_(std::move(metadata)) {
  CONVKIT_CHECK(!opt_.out_dir.empty(), "CheckpointCallback: no output directory");
}

std::string CheckpointCallback::weights_path(const std::string& which) const {
  return (fs::path(opt_.out_dir) / (which + ".safetensors")).string();
}
std::string CheckpointCallback::state_path() const {
  return (fs::path(opt_.out_dir) / "train_state.safetensors").string();
}

void CheckpointCallback::on_train_begin(TrainContext& ctx) {
  if (opt_.resume) return resume(ctx);
  for (const char* f : {"train_state.safetensors", "last.safetensors", "best.safetensors"}) {
    const fs::path p = fs::path(opt_.out_dir) / f;
    if (!fs::exists(p)) continue;
    CONVKIT_CHECK(opt_.overwrite, opt_.out_dir, " holds another run (", f,
                  "): continue it with --resume, replace it with --overwrite, or train into "
                  "another --out");
    // Otherwise an old best.safetensors would outlive a new run stopped before its first epoch.
    if (ctx.is_writer) fs::remove(p);
  }
  if (ctx.is_writer) fs::create_directories(opt_.out_dir);
}

void CheckpointCallback::resume(TrainContext& ctx) {
  CONVKIT_CHECK(fs::exists(state_path()), "train --resume: no training state at ", state_path());
  // Name the model the run used before any tensor fails to match.
  const Metadata saved = read_metadata(state_path());
  auto was = saved.find("model");
  auto now = metadata_.find("model");
  if (was != saved.end() && now != metadata_.end())
    CONVKIT_CHECK(was->second == now->second, state_path(), ": the run in ", opt_.out_dir,
                  " trains model '", was->second, "', not '", now->second,
                  "'; resume with --model ", was->second, " or train '", now->second,
                  "' into another --out");
  TrainState st = load_train_state(state_path(), ctx.model, ctx.optimizer);
  default_generator().set_state(st.rng_state);
  for (Callback* c : ctx.callbacks) c->load_state(st);
  auto logs = st.extra.find(kEpochLogs);
  if (st.next_batch > 0 && logs != st.extra.end()) {
    ctx.running = RunningLogs::from_json(logs->second);
    auto secs = st.extra.find(kEpochSeconds);
    if (secs != st.extra.end()) ctx.epoch_seconds_before = std::stod(secs->second);
  }
  ctx.state = st;
  if (ctx.say)
    ctx.say(detail::concat("resuming at epoch ", st.epoch + 1, ", batch ", st.next_batch, " (step ",
                           st.step, ")"));
}

void CheckpointCallback::write_state(TrainContext& ctx) const {
  if (!ctx.is_writer) return;
  TrainState st = ctx.state;
  st.rng_state = default_generator().state();
  st.extra = metadata_;
  if (st.next_batch > 0) {
    // A resumed epoch reports its numbers over all its batches, not only those after the cut.
    st.extra[kEpochLogs] = ctx.running.to_json();
    st.extra[kEpochSeconds] = std::to_string(ctx.epoch_seconds_before);
  }
  for (const Callback* c : ctx.callbacks) c->save_state(st);
  save_train_state(state_path(), ctx.model, ctx.optimizer, st);
}

void CheckpointCallback::on_epoch_end(TrainContext& ctx, EpochRecord& r) {
  const std::string& name = ctx.task.best_metric();
  const Logs& source = r.has_val ? r.val : r.train;
  auto it = source.find(name);
  CONVKIT_CHECK(it != source.end(), "CheckpointCallback: the task's best metric '", name,
                "' is not among its ", r.has_val ? "evaluation metrics" : "step logs");
  // Weights with a NaN/inf never become the best (a NaN score can look like 100% accuracy).
  r.best = it->second > ctx.state.best_metric && all_finite(ctx.model);
  if (r.best) ctx.state.best_metric = it->second;
  if (!ctx.is_writer) return;
  Metadata meta = metadata_;
  meta["epoch"] = std::to_string(r.epoch);
  if (r.best) save_weights(weights_path("best"), ctx.model, meta);
  save_weights(weights_path("last"), ctx.model, meta);
  write_state(ctx);
}

void CheckpointCallback::on_interrupt(TrainContext& ctx) {
  write_state(ctx);
  if (ctx.say && ctx.is_writer)
    ctx.say("interrupted: saved a resumable state to " + state_path() + " (resume with --resume)");
}

// ---- metrics log ----

void MetricsLog::on_train_begin(TrainContext& ctx) {
  if (!ctx.is_writer) return;
  if (resume_ && fs::exists(path_)) {
    // The earlier epochs' records, so that a resumed run reports over the whole run.
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        continue;  // a line cut by a crash; the state knows where the run is
      }
      EpochRecord r;
      r.epoch = j.value("epoch", int64_t(0));
      if (r.epoch <= 0 || r.epoch > ctx.state.epoch) continue;
      for (auto& [k, v] : j.items()) {
        if (!v.is_number()) continue;
        if (k.rfind("train_", 0) == 0) r.train[k.substr(6)] = v.get<double>();
        if (k.rfind("val_", 0) == 0) r.val[k.substr(4)] = v.get<double>();
      }
      r.has_val = !r.val.empty();
      r.lr = j.value("lr", 0.0);
      r.seconds = j.value("seconds", 0.0);
      r.images_per_second = j.value("images_per_second", 0.0);
      r.skipped_files = j.value("skipped_files", int64_t(0));
      ctx.history.push_back(r);
    }
  }
  fs::create_directories(fs::path(path_).parent_path());
  out_.open(path_, resume_ ? std::ios::app : std::ios::trunc);
  CONVKIT_CHECK(out_.good(), "cannot write the metrics log ", path_, ": ", std::strerror(errno));
}

void MetricsLog::on_epoch_end(TrainContext& ctx, EpochRecord& r) {
  if (!ctx.is_writer) return;
  nlohmann::json j = {{"epoch", r.epoch},
                      {"lr", r.lr},
                      {"seconds", r.seconds},
                      {"images_per_second", r.images_per_second},
                      {"skipped_files", r.skipped_files}};
  for (const auto& [k, v] : r.train) j["train_" + k] = v;
  for (const std::string& k : ctx.task.metric_names())
    j["val_" + k] = r.has_val && r.val.count(k) ? nlohmann::json(r.val.at(k)) : nullptr;
  out_ << j.dump() << std::endl;  // endl flushes: a full disk shows here, not at close
  CONVKIT_CHECK(out_.good(), "could not write epoch ", r.epoch, " to the metrics log ", path_, " (",
                std::strerror(errno), "; is the disk full?)");
}

// ---- early stopping ----

void EarlyStopping::on_epoch_end(TrainContext& ctx, EpochRecord& r) {
  since_best_ = r.best ? 0 : since_best_ + 1;
  if (since_best_ < patience_) return;
  ctx.stop = true;
  if (ctx.say)
    ctx.say(detail::concat("early stopping: no better ", ctx.task.best_metric(), " for ",
                           since_best_, " epochs"));
}

void EarlyStopping::save_state(TrainState& state) const {
  state.extra["early_stopping_since_best"] = std::to_string(since_best_);
}

void EarlyStopping::load_state(const TrainState& state) {
  auto it = state.extra.find("early_stopping_since_best");
  if (it == state.extra.end()) return;
  size_t used = 0;
  try {
    since_best_ = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  CONVKIT_CHECK(used > 0 && used == it->second.size() && since_best_ >= 0,
                "training state entry 'early_stopping_since_best' is not a count of epochs: '",
                it->second, "' (a damaged or hand-edited file)");
}

}  // namespace convkit::train
