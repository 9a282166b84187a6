#include "convkit/train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "convkit/train/anomaly.h"

namespace convkit::train {

namespace {
std::atomic<bool> stop_flag{false};
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

void Trainer::request_stop() { stop_flag.store(true); }
void Trainer::clear_stop() { stop_flag.store(false); }

void RunningLogs::add(const Logs& logs, int64_t examples) {
  for (const auto& [name, value] : logs) sums_[name] += value * double(examples);
  examples_ += examples;
}

Logs RunningLogs::means() const {
  Logs m;
  for (const auto& [name, sum] : sums_) m[name] = examples_ ? sum / double(examples_) : 0.0;
  return m;
}

std::string RunningLogs::to_json() const {
  // Doubles go through JSON at full precision, so the resumed epoch's means equal the
  // uninterrupted run's.
  return nlohmann::json{{"examples", examples_}, {"sums", sums_}}.dump();
}

RunningLogs RunningLogs::from_json(const std::string& json) {
  RunningLogs r;
  try {
    auto j = nlohmann::json::parse(json);
    r.examples_ = j.at("examples").get<int64_t>();
    r.sums_ = j.at("sums").get<Logs>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("training state: malformed running logs '" + json + "': " + e.what());
  }
  return r;
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, Task& task,
                 data::DataLoader& train_loader, data::DataLoader* val_loader,
                 TrainerOptions options)
    : opt_(options), ctx_{model, optimizer, task, train_loader, val_loader, opt_} {
  CONVKIT_CHECK(opt_.epochs > 0, "Trainer: epochs must be positive, got ", opt_.epochs);
  CONVKIT_CHECK(train_loader.dataset().size() > 0, "Trainer: the training set is empty");
  CONVKIT_CHECK(opt_.clip_grad_norm >= 0, "Trainer: negative clip_grad_norm ", opt_.clip_grad_norm);
}

Trainer& Trainer::add_callback(std::shared_ptr<Callback> callback) {
  CONVKIT_CHECK(callback != nullptr, "Trainer::add_callback: null callback");
  owned_.push_back(std::move(callback));
  ctx_.callbacks.push_back(owned_.back().get());
  return *this;
}

void Trainer::train_step(const data::Batch& batch) {
  for (Callback* c : ctx_.callbacks) c->on_step_begin(ctx_);
  ctx_.optimizer.zero_grad();
  StepResult result;
  {
    std::optional<AnomalyDetector> anomaly;
    if (opt_.detect_anomaly) anomaly.emplace(ctx_.model);
    result = ctx_.task.step(ctx_.model, batch);
    if (anomaly) anomaly->check_outside_modules();
    result.loss.backward();
  }
  ctx_.batch = &batch;
  ctx_.result = &result;
  ctx_.skip_step = false;
  ctx_.interrupt = stop_flag.load();
  for (Callback* c : ctx_.callbacks) c->on_after_backward(ctx_);
  if (!ctx_.skip_step) {
    if (opt_.clip_grad_norm > 0)
      optim::clip_grad_norm(ctx_.model.parameters(), opt_.clip_grad_norm);
    ctx_.optimizer.step();
    ctx_.running.add(result.logs, result.examples);
  }
  ++ctx_.state.step;
  ++ctx_.state.next_batch;
  for (Callback* c : ctx_.callbacks) c->on_step_end(ctx_);
  ctx_.batch = nullptr;
  ctx_.result = nullptr;
}

bool Trainer::run_epoch(int64_t epoch) {
  ctx_.model.train();
  ctx_.state.epoch = epoch;
  for (Callback* c : ctx_.callbacks) c->on_epoch_begin(ctx_);
  ctx_.train_loader.start_epoch(epoch, ctx_.state.next_batch);
  const auto t0 = Clock::now();
  while (auto b = ctx_.train_loader.next()) {
    train_step(*b);
    if (ctx_.interrupt || (!ctx_.interrupt_is_collective && stop_flag.load())) {
      ctx_.train_loader.stop();
      ctx_.epoch_seconds_before += seconds_since(t0);
      for (Callback* c : ctx_.callbacks) c->on_interrupt(ctx_);
      return false;
    }
  }
  EpochRecord rec;
  rec.epoch = epoch + 1;
  rec.seconds = ctx_.epoch_seconds_before + seconds_since(t0);
  rec.train = ctx_.running.means();
  rec.images_per_second = double(ctx_.running.examples()) / std::max(rec.seconds, 1e-9);
  rec.lr = ctx_.optimizer.param_groups()[0].lr;
  if (ctx_.val_loader) {
    rec.has_val = true;
    rec.val = ctx_.task.evaluate(ctx_.model, *ctx_.val_loader);
  }
  // The halves of a split share one file set and one count, so the larger is the total.
  rec.skipped_files =
      std::max(ctx_.train_loader.dataset().skipped_files(),
               ctx_.val_loader ? ctx_.val_loader->dataset().skipped_files() : int64_t(0));
  ctx_.state.epoch = epoch + 1;
  ctx_.state.next_batch = 0;
  ctx_.running = RunningLogs();
  ctx_.epoch_seconds_before = 0;
  for (Callback* c : ctx_.callbacks) c->on_epoch_end(ctx_, rec);
  ctx_.history.push_back(rec);
  return true;
}

bool Trainer::run() {
  for (Callback* c : ctx_.callbacks) c->on_train_begin(ctx_);
  for (int64_t epoch = ctx_.state.epoch; epoch < opt_.epochs && !ctx_.stop; ++epoch)
    if (!run_epoch(epoch)) return false;
  for (Callback* c : ctx_.callbacks) c->on_train_end(ctx_);
  return true;
}

}  // namespace convkit::train
