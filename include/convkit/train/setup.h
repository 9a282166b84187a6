#pragma once
// The parts `convkit train` assembles by name (tools/convkit/train_cmd.cpp): the run's options,
// the registry model, the optimizer over parameter groups, the LR schedule, the callbacks and the
// checkpoint metadata. A library user builds the same run from these, or swaps any part (an
// imported model, other parameter groups, another task) and keeps the rest.
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/optim/optimizer.h"
#include "convkit/optim/schedule.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/trainer.h"

namespace convkit::train {

struct TrainOptions {
  std::string model = "lenet5-modern";
  int64_t epochs = 3;
  int64_t batch_size = 128;       // per process: a data-parallel step takes world_size of them
  int world_size = 1;             // processes of a data-parallel run (dist/data_parallel.h)
  std::string optimizer = "sgd";  // sgd | adam | adamw
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  bool no_decay_on_bias_bn = true;
  std::string schedule = "cosine";  // constant | step | multistep | exponential | cosine | plateau
  double warmup_epochs = 0;
  int64_t step_size = 30;           // epochs (step)
  std::vector<int64_t> milestones;  // epochs (multistep)
  double gamma = 0.1;               // step, multistep, exponential (per epoch), plateau factor
  int64_t plateau_patience = 3;
  int64_t scale_lr_base_batch = 0;  // > 0: linear scaling rule, lr *= batch_size / this
  double label_smoothing = 0.0;
  // Knowledge distillation: weights file of a trained teacher (empty: off), temperature T and the
  // weight alpha of the soft term (ops/loss.h distillation_loss).
  std::string teacher;
  double distill_temperature = 4.0;
  double distill_alpha = 0.9;
  double clip_grad_norm = 0.0;  // 0: off
  // Non-finite guard: batches with a NaN/inf loss or gradient skipped before the run stops.
  int64_t skip_nonfinite = 0;
  bool detect_anomaly = false;  // TrainerOptions::detect_anomaly
  int64_t early_stopping = 0;   // patience in epochs; 0: off
  double val_fraction = 0.1;
  uint64_t seed = 1;
  std::string out_dir = "runs/latest";
  bool resume = false;
  bool overwrite = false;  // a fresh run may replace the run in out_dir
  // Threads assembling training batches (data::LoaderOptions::workers).
  int loader_workers = data::default_loader_workers();
  // describe() of the training set's augmentation, recorded in the checkpoints' run metadata
  // (empty: none).
  std::string augmentation;
  // Input standardization the datasets were given (recorded in the checkpoints' config so that
  // eval/predict apply the same); empty when inputs are used as they are.
  std::vector<double> norm_mean, norm_std;
  // How image files become inputs (data::ImagePreprocessing::to_json()), recorded in the
  // checkpoints' config as "preprocessing" so that `predict IMAGE` prepares files the same way;
  // empty for in-memory datasets.
  std::string preprocessing;
};

// The learning rate after the linear scaling rule (scale_lr_base_batch) for the global batch
// (batch_size x world_size), as the run uses it.
double effective_lr(const TrainOptions& o);

// The registry model `o.model` for the training set's examples [C, H, W] and classes, initialized
// from manual_seed(o.seed) (the default generator also draws dropout masks later).
std::shared_ptr<nn::Module> make_model(const TrainOptions& o, const data::Dataset& train);

// The parameter groups: weight decay on weights of rank >= 2 only (no_decay_on_bias_bn) or on all.
std::vector<optim::ParamGroup> make_param_groups(const nn::Module& model, const TrainOptions& o);
// SGD / Adam / AdamW over `groups`; throws naming an unknown optimizer.
std::unique_ptr<optim::Optimizer> make_optimizer(std::vector<optim::ParamGroup> groups,
                                                 const TrainOptions& o);
// The per-step schedule (with warm-up) for `o.schedule`; null for "plateau" (a callback).
optim::SchedulePtr make_schedule(const TrainOptions& o, int64_t steps_per_epoch);

// The checkpoints' metadata: {"model", "config" (channels, classes, image size, class names,
// normalization, preprocessing), "run" (epochs, batch size, optimizer, lr, ...)}.
Metadata run_metadata(const TrainOptions& o, const data::Dataset& train);

// The callbacks of `convkit train`, in their order: schedule (or plateau), non-finite guard,
// checkpoints in o.out_dir, metrics.jsonl, early stopping. Returns the checkpoint callback (it
// knows the file paths).
std::shared_ptr<class CheckpointCallback> add_standard_callbacks(Trainer& trainer,
                                                                 const TrainOptions& o,
                                                                 int64_t steps_per_epoch,
                                                                 const Metadata& metadata);

}  // namespace convkit::train
