#pragma once
// The training loop: Trainer(model, optimizer, task, loaders) runs epochs of steps and hands every
// decision that is not "forward, backward, step" to its Task (train/task.h) and its callbacks
// (train/callbacks.h): LR schedules, checkpoints, logs, early stopping, the non-finite guard,
// progress, and the data-parallel gradient all-reduce (dist/data_parallel.h; docs/training.md).
//
// One step, in order:
//   callbacks.on_step_begin            (LR schedule)
//   zero_grad; task.step (forward, loss); loss.backward()
//   callbacks.on_after_backward        (non-finite guard, gradient all-reduce; may skip the step)
//   clip_grad_norm (options), optimizer.step() unless skipped
//   callbacks.on_step_end              (progress)
// and at the end of each epoch task.evaluate on the validation loader, then on_epoch_end (in the
// order the callbacks were added: schedule, guard, checkpoint, log, progress). A stop request
// (request_stop(), e.g. from SIGINT) ends the run after the current step with on_interrupt, where
// the checkpoint callback saves a resumable state.
//
// Resuming is exact: a batch is a function of (loader seed, epoch, batch number), the state holds
// the default generator (dropout) and every callback's state, so an interrupted and resumed run
// ends with the weights of an uninterrupted one.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/loader.h"
#include "convkit/nn/module.h"
#include "convkit/optim/optimizer.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/classification.h"  // the usual task, and evaluate()
#include "convkit/train/task.h"

namespace convkit::train {

struct TrainerOptions {
  int64_t epochs = 1;
  // Global L2 norm the gradients are clipped to before each step (optim::clip_grad_norm); 0: off.
  double clip_grad_norm = 0.0;
  // Checks every op's output (and backward's gradients) for NaN/inf and throws naming the op and
  // the module (path and type) that ran it (train/anomaly.h). Slow: for finding a divergence.
  bool detect_anomaly = false;
};

// Example-weighted sums of step logs over (part of) an epoch.
class RunningLogs {
 public:
  void add(const Logs& logs, int64_t examples);
  Logs means() const;
  int64_t examples() const { return examples_; }
  // As JSON text (to carry a half-done epoch through a resume) and back.
  std::string to_json() const;
  static RunningLogs from_json(const std::string& json);

 private:
  Logs sums_;
  int64_t examples_ = 0;
};

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  Logs train;         // means of the step logs over the whole epoch
  bool has_val = false;
  Logs val;  // task.evaluate on the validation loader (empty without one)
  double lr = 0, seconds = 0, images_per_second = 0;
  bool best = false;  // these weights replaced the best ones
  // Unusable files skipped so far (Dataset::skipped_files of the training and validation sets).
  int64_t skipped_files = 0;
};

class Callback;

// What callbacks see and may change.
struct TrainContext {
  nn::Module& model;
  optim::Optimizer& optimizer;
  Task& task;
  data::DataLoader& train_loader;
  data::DataLoader* val_loader;  // null: no validation set
  const TrainerOptions& options;
  // epoch (0-based) and next_batch of the position; step: optimizer steps so far (skipped batches
  // included, so that per-step schedules stay a function of the position); best_metric.
  TrainState state{};
  RunningLogs running{};               // this epoch's step logs so far
  double epoch_seconds_before = 0;     // time spent in this epoch before a resume
  const data::Batch* batch = nullptr;  // the step in progress (on_after_backward, on_step_end)
  // The step's result; on_after_backward may replace its loss, logs and examples (a data-parallel
  // run puts the means over every rank there, so the guard and the logs see the global step).
  StepResult* result = nullptr;
  bool skip_step = false;  // on_after_backward: drop this batch's update (set back each step)
  // Whether the run stops after this step: request_stop() as seen before on_after_backward. A
  // data-parallel callback sets `interrupt_is_collective` and makes every rank agree on it there
  // (one rank's Ctrl-C stops them all after the same step); otherwise a request that arrives later
  // in the step stops the run too.
  bool interrupt = false;
  bool interrupt_is_collective = false;
  bool stop = false;  // any callback: end the run after this step / epoch (early stopping)
  // Whether this process writes files (checkpoints, logs). A data-parallel run sets it on rank 0
  // only; the checkpoint and log callbacks write nothing when it is false.
  bool is_writer = true;
  std::vector<EpochRecord> history{};  // finished epochs (with a resume: read back from the log)
  std::vector<Callback*> callbacks{};  // every callback, in order (to gather their state)
  std::function<void(const std::string&)> say{};  // messages for the user
};

// Every hook does nothing by default.
class Callback {
 public:
  virtual ~Callback() = default;
  // Before the first step; a resuming checkpoint callback loads the state here.
  virtual void on_train_begin(TrainContext&) {}
  virtual void on_epoch_begin(TrainContext&) {}
  virtual void on_step_begin(TrainContext&) {}
  // After backward, before clipping and the optimizer step.
  virtual void on_after_backward(TrainContext&) {}
  virtual void on_step_end(TrainContext&) {}
  // After validation; may mark record.best (the checkpoint callback does).
  virtual void on_epoch_end(TrainContext&, EpochRecord&) {}
  // The run stops at a request (Ctrl-C) mid-epoch; ctx.state points at the next batch.
  virtual void on_interrupt(TrainContext&) {}
  virtual void on_train_end(TrainContext&) {}
  // What this callback needs to resume exactly (e.g. the plateau counter), in the training state.
  virtual void save_state(TrainState&) const {}
  virtual void load_state(const TrainState&) {}
};

class Trainer {
 public:
  // The model, optimizer, task and loaders are the caller's and must outlive the Trainer. The
  // train loader should shuffle with its own seed (a batch = f(seed, epoch, batch number)); the
  // validation loader (may be null) is evaluated after every epoch.
  Trainer(nn::Module& model, optim::Optimizer& optimizer, Task& task,
          data::DataLoader& train_loader, data::DataLoader* val_loader, TrainerOptions options);
  Trainer(const Trainer&) = delete;  // the context refers to the options it holds
  Trainer& operator=(const Trainer&) = delete;
  // Runs in the order given (the Trainer shares ownership).
  Trainer& add_callback(std::shared_ptr<Callback> callback);

  // Runs (or, with a resuming checkpoint callback, continues) training. Returns false when
  // stopped by request_stop() mid-epoch (after on_interrupt), true at the end or on ctx.stop.
  bool run();
  // Asks every running Trainer to stop after its current step (async-signal-safe: an atomic flag).
  static void request_stop();
  static void clear_stop();

  const TrainContext& context() const { return ctx_; }
  const std::vector<EpochRecord>& history() const { return ctx_.history; }
  // The best value of the task's best metric so far (-1 before the first epoch).
  double best_metric() const { return ctx_.state.best_metric; }
  void on_message(std::function<void(const std::string&)> say) { ctx_.say = std::move(say); }
  void set_is_writer(bool writer) { ctx_.is_writer = writer; }

 private:
  bool run_epoch(int64_t epoch);
  void train_step(const data::Batch& batch);
  EpochRecord finish_epoch(int64_t epoch, double seconds);

  TrainerOptions opt_;
  std::vector<std::shared_ptr<Callback>> owned_;
  TrainContext ctx_;
};

}  // namespace convkit::train
