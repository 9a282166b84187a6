#pragma once
// The training loop behind `convkit train`: epochs of minibatch SGD/Adam with a per-step LR
// schedule, validation, metrics log, best/last checkpoints, and resumable interruption.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/loader.h"
#include "convkit/metrics/classification.h"
#include "convkit/nn/module.h"
#include "convkit/optim/optimizer.h"
#include "convkit/optim/schedule.h"
#include "convkit/train/checkpoint.h"

namespace convkit::train {

struct TrainOptions {
  std::string model = "lenet5-modern";
  int64_t epochs = 3;
  int64_t batch_size = 128;
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
  double val_fraction = 0.1;
  uint64_t seed = 1;
  std::string out_dir = "runs/latest";
  bool resume = false;
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
  // Fine-tuning (tools/convkit/init_options.h): called on the freshly built model before the
  // optimizer is made (load --init, --freeze); null: nothing.
  std::function<void(nn::Module&)> prepare_model;
  // The optimizer's parameter groups from the model and the (scaled) base lr; null: the default
  // groups (no_decay_on_bias_bn).
  std::function<std::vector<optim::ParamGroup>(const nn::Module&, double lr)> make_groups;
};

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0, train_acc = 0;
  bool has_val = false;  // false: no validation set, val_* are unset and `best` compares train_acc
  double val_loss = 0, val_acc = 0, val_top5 = 0;
  double lr = 0, seconds = 0, images_per_second = 0;
  bool best = false;
  // Unusable files skipped so far (Dataset::skipped_files of the training and validation sets).
  int64_t skipped_files = 0;
};

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;
  metrics::ConfusionMatrix confusion{1};
};

// Loss and accuracies of `model` (switched to eval mode) over every batch of `loader`.
EvalResult evaluate(nn::Module& model, data::DataLoader& loader, int64_t num_classes,
                    double label_smoothing = 0.0);

struct ProgressEvent {
  int64_t epoch, epochs, batch, batches;
  double loss, acc, images_per_second, eta_seconds;
};

class Trainer {
 public:
  Trainer(TrainOptions options, data::DatasetPtr train, data::DatasetPtr val);
  // Runs (or resumes) training. Returns false when interrupted by request_stop(), after saving a
  // resumable state.
  bool run();
  // Asks the loop to stop after the current step (async-signal-safe: sets an atomic flag).
  static void request_stop();
  static void clear_stop();

  nn::Module& model() { return *model_; }
  const std::vector<EpochRecord>& history() const { return history_; }
  std::function<void(const ProgressEvent&)> on_progress;
  std::function<void(const EpochRecord&)> on_epoch;
  std::function<void(const std::string&)> on_message;

  std::string weights_path(const std::string& which) const;  // "best" | "last"
  std::string state_path() const;

 private:
  void build_optimizer();
  optim::SchedulePtr make_schedule() const;
  Metadata run_metadata() const;

  TrainOptions opt_;
  data::DatasetPtr train_, val_;
  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::vector<EpochRecord> history_;
  int64_t steps_per_epoch_ = 0;
};

}  // namespace convkit::train
