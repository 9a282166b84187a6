#pragma once
// The callbacks `convkit train` assembles (train/trainer.h has the hooks and their order).
#include <fstream>
#include <string>

#include "convkit/optim/schedule.h"
#include "convkit/train/trainer.h"

namespace convkit::train {

// Sets every group's LR to schedule(step) * the group's base LR before each step
// (optim::apply_schedule).
class ScheduleCallback : public Callback {
 public:
  explicit ScheduleCallback(optim::SchedulePtr schedule) : schedule_(std::move(schedule)) {}
  void on_step_begin(TrainContext& ctx) override;

 private:
  optim::SchedulePtr schedule_;
};

// optim::ReduceOnPlateau on the validation loss (the training loss without a validation set),
// once per epoch. Its counters travel in the training state.
class PlateauCallback : public Callback {
 public:
  explicit PlateauCallback(optim::PlateauOptions options) : plateau_(options) {}
  void on_epoch_end(TrainContext& ctx, EpochRecord& record) override;
  void save_state(TrainState& state) const override { state.plateau_state = plateau_.state(); }
  void load_state(const TrainState& state) override;

 private:
  optim::ReduceOnPlateau plateau_;
};

// Thrown by NonFiniteGuard: a training step or the weights went NaN/inf.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

// Stops training on the first NaN/inf loss or gradient, naming the epoch, step, batch, the first
// dataset indices of the batch and the first parameter whose gradient is not finite. With
// max_skips > 0 the first max_skips such batches are skipped instead (no update; reported) and
// training goes on. At the end of an epoch a non-finite weight or validation loss also stops it,
// before the checkpoint callback (added after this one) could keep those weights as the best.
class NonFiniteGuard : public Callback {
 public:
  explicit NonFiniteGuard(int64_t max_skips = 0) : max_skips_(max_skips) {}
  void on_after_backward(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, EpochRecord& record) override;
  int64_t skipped() const { return skipped_; }

 private:
  int64_t max_skips_, skipped_ = 0;
};

// Files in `out_dir` (docs/checkpoints.md): best.safetensors (weights of the best epoch by the
// task's best metric; never weights with a NaN/inf), last.safetensors (every epoch), and
// train_state.safetensors (every epoch and at an interruption). `metadata` goes into all three
// (the model's name and configuration: what loading needs).
struct CheckpointOptions {
  std::string out_dir;
  bool resume = false;  // load train_state.safetensors before the first step
  // A fresh run refuses an out_dir that holds another run unless this is set.
  bool overwrite = false;
};
class CheckpointCallback : public Callback {
 public:
  CheckpointCallback(CheckpointOptions options, Metadata metadata);
  void on_train_begin(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, EpochRecord& record) override;
  void on_interrupt(TrainContext& ctx) override;

  std::string weights_path(const std::string& which) const;  // "best" | "last"
  std::string state_path() const;

 private:
  void resume(TrainContext& ctx);
  void write_state(TrainContext& ctx) const;
  CheckpointOptions opt_;
  Metadata metadata_;
};

// One JSON line per epoch in `path` (metrics.jsonl): {"epoch", "train_<log>", "val_<metric>"
// (null without a validation set), "lr", "seconds", "images_per_second", "skipped_files"}. With
// `resume` it appends and reads the earlier epochs back into the history. Every write is checked:
// a full disk throws naming the file.
class MetricsLog : public Callback {
 public:
  MetricsLog(std::string path, bool resume) : path_(std::move(path)), resume_(resume) {}
  void on_train_begin(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, EpochRecord& record) override;

 private:
  std::string path_;
  bool resume_;
  std::ofstream out_;
};

// Stops after `patience` epochs without a new best (the checkpoint callback marks record.best, so
// add this one after it).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(int64_t patience) : patience_(patience) {}
  void on_epoch_end(TrainContext& ctx, EpochRecord& record) override;
  void save_state(TrainState& state) const override;
  void load_state(const TrainState& state) override;

 private:
  int64_t patience_, since_best_ = 0;
};

}  // namespace convkit::train
