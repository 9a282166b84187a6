#include "convkit/train/setup.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "convkit/models/registry.h"
#include "convkit/optim/adam.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "convkit/train/callbacks.h"

namespace convkit::train {

double effective_lr(const TrainOptions& o) {
  return o.scale_lr_base_batch > 0
             ? optim::linear_scaled_lr(o.lr, o.batch_size * o.world_size, o.scale_lr_base_batch)
             : o.lr;
}

std::shared_ptr<nn::Module> make_model(const TrainOptions& o, const data::Dataset& train) {
  manual_seed(o.seed);  // model initialization and dropout draw from the default generator
  Shape ex = train.example_shape();
  CONVKIT_CHECK(ex.ndim() == 3, "train: expected images [C, H, W], the dataset gives ",
                ex.to_string());
  return models::create_model(o.model, {ex[0], train.num_classes(), ex[1]});
}

std::vector<optim::ParamGroup> make_param_groups(const nn::Module& model, const TrainOptions& o) {
  return o.no_decay_on_bias_bn
             ? optim::groups_no_decay_on_bias_and_bn(model, effective_lr(o), o.weight_decay)
             : optim::single_group(model, effective_lr(o), o.weight_decay);
}

std::unique_ptr<optim::Optimizer> make_optimizer(std::vector<optim::ParamGroup> groups,
                                                 const TrainOptions& o) {
  if (o.optimizer == "sgd")
    return std::make_unique<optim::SGD>(
        groups, optim::SGDOptions{.momentum = o.momentum, .nesterov = o.nesterov});
  if (o.optimizer == "adam") return std::make_unique<optim::Adam>(groups);
  if (o.optimizer == "adamw") return std::make_unique<optim::AdamW>(groups);
  throw Error("train: unknown optimizer '" + o.optimizer + "' (sgd, adam, adamw)");
}

optim::SchedulePtr make_schedule(const TrainOptions& o, int64_t spe) {
  const auto warmup = int64_t(std::llround(o.warmup_epochs * double(spe)));
  const int64_t total = o.epochs * spe;
  optim::SchedulePtr s;
  const std::string& n = o.schedule;
  if (n == "plateau")
    return nullptr;
  else if (n == "constant")
    s = optim::constant_lr();
  else if (n == "cosine")
    s = optim::cosine_lr(std::max<int64_t>(total - warmup, 1));
  else if (n == "step")
    s = optim::step_lr(o.step_size * spe, o.gamma);
  else if (n == "exponential")
    s = optim::exponential_lr(std::pow(o.gamma, 1.0 / double(spe)));
  else if (n == "multistep") {
    std::vector<int64_t> m;
    for (int64_t e : o.milestones) m.push_back(e * spe);
    s = optim::multi_step_lr(m, o.gamma);
  } else {
    throw Error("train: unknown schedule '" + n +
                "' (constant, step, multistep, exponential, cosine, plateau)");
  }
  return warmup > 0 ? optim::with_warmup(s, warmup) : s;
}

Metadata run_metadata(const TrainOptions& o, const data::Dataset& train) {
  Shape ex = train.example_shape();
  nlohmann::json config = {{"in_channels", ex[0]},
                           {"num_classes", train.num_classes()},
                           {"image_size", ex[1]},
                           {"class_names", train.class_names()}};
  if (!o.norm_mean.empty()) config["normalization"] = {{"mean", o.norm_mean}, {"std", o.norm_std}};
  if (!o.preprocessing.empty()) config["preprocessing"] = nlohmann::json::parse(o.preprocessing);
  nlohmann::json run = {{"epochs", o.epochs},
                        {"batch_size", o.batch_size},
                        {"processes", o.world_size},
                        {"optimizer", o.optimizer},
                        {"lr", effective_lr(o)},
                        {"schedule", o.schedule},
                        {"seed", o.seed},
                        {"label_smoothing", o.label_smoothing}};
  if (!o.augmentation.empty()) run["augmentation"] = o.augmentation;
  if (!o.teacher.empty())
    run["distillation"] = {
        {"teacher", o.teacher}, {"temperature", o.distill_temperature}, {"alpha", o.distill_alpha}};
  return {{"model", o.model}, {"config", config.dump()}, {"run", run.dump()}};
}

std::shared_ptr<CheckpointCallback> add_standard_callbacks(Trainer& trainer, const TrainOptions& o,
                                                           int64_t steps_per_epoch,
                                                           const Metadata& metadata) {
  if (optim::SchedulePtr s = make_schedule(o, steps_per_epoch))
    trainer.add_callback(std::make_shared<ScheduleCallback>(s));
  else
    trainer.add_callback(std::make_shared<PlateauCallback>(
        optim::PlateauOptions{.factor = o.gamma, .patience = o.plateau_patience}));
  trainer.add_callback(std::make_shared<NonFiniteGuard>(o.skip_nonfinite));
  auto checkpoint = std::make_shared<CheckpointCallback>(
      CheckpointOptions{.out_dir = o.out_dir, .resume = o.resume, .overwrite = o.overwrite},
      metadata);
  trainer.add_callback(checkpoint);
  trainer.add_callback(
      std::make_shared<MetricsLog>(o.out_dir + "/metrics.jsonl", /*resume=*/o.resume));
  if (o.early_stopping > 0) trainer.add_callback(std::make_shared<EarlyStopping>(o.early_stopping));
  return checkpoint;
}

}  // namespace convkit::train
