#include "convkit/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/models/registry.h"
#include "convkit/ops/loss.h"
#include "convkit/optim/adam.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "convkit/train/distillation.h"

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

EvalResult evaluate(nn::Module& model, data::DataLoader& loader, int64_t num_classes,
                    double label_smoothing) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EvalResult r;
  r.confusion = metrics::ConfusionMatrix(num_classes);
  metrics::RunningMetrics m;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    Tensor logits = model(b->inputs);
    double loss = cross_entropy(logits, b->labels, label_smoothing).item();
    m.add(loss, logits, b->labels);
    r.confusion.add(logits, b->labels);
  }
  model.train(was_training);
  r.loss = m.loss();
  r.top1 = m.top1();
  r.top5 = m.top5();
  return r;
}

Trainer::Trainer(TrainOptions options, data::DatasetPtr train, data::DatasetPtr val)
    : opt_(std::move(options)), train_(std::move(train)), val_(std::move(val)) {
  CONVKIT_CHECK(opt_.epochs > 0, "train: epochs must be positive, got ", opt_.epochs);
  CONVKIT_CHECK(opt_.batch_size > 0, "train: batch size must be positive, got ", opt_.batch_size);
  CONVKIT_CHECK(train_ && train_->size() > 0, "train: the training set is empty");
  if (opt_.scale_lr_base_batch > 0)
    opt_.lr = optim::linear_scaled_lr(opt_.lr, opt_.batch_size, opt_.scale_lr_base_batch);
  manual_seed(opt_.seed);  // model initialization and dropout draw from the default generator
  Shape ex = train_->example_shape();
  CONVKIT_CHECK(ex.ndim() == 3, "train: expected images [C, H, W], the dataset gives ",
                ex.to_string());
  models::ModelConfig cfg{ex[0], train_->num_classes(), ex[1]};
  model_ = models::create_model(opt_.model, cfg);
  if (opt_.prepare_model) opt_.prepare_model(*model_);
  steps_per_epoch_ = (train_->size() + opt_.batch_size - 1) / opt_.batch_size;
  build_optimizer();
}

void Trainer::build_optimizer() {
  std::vector<optim::ParamGroup> groups =
      opt_.make_groups ? opt_.make_groups(*model_, opt_.lr)
      : opt_.no_decay_on_bias_bn
          ? optim::groups_no_decay_on_bias_and_bn(*model_, opt_.lr, opt_.weight_decay)
          : optim::single_group(*model_, opt_.lr, opt_.weight_decay);
  if (opt_.optimizer == "sgd") {
    optimizer_ = std::make_unique<optim::SGD>(
        groups, optim::SGDOptions{.momentum = opt_.momentum, .nesterov = opt_.nesterov});
  } else if (opt_.optimizer == "adam") {
    optimizer_ = std::make_unique<optim::Adam>(groups);
  } else if (opt_.optimizer == "adamw") {
    optimizer_ = std::make_unique<optim::AdamW>(groups);
  } else {
    throw Error("train: unknown optimizer '" + opt_.optimizer + "' (sgd, adam, adamw)");
  }
}

optim::SchedulePtr Trainer::make_schedule() const {
  const int64_t spe = steps_per_epoch_;
  const auto warmup = int64_t(std::llround(opt_.warmup_epochs * double(spe)));
  const int64_t total = opt_.epochs * spe;
  optim::SchedulePtr s;
  const std::string& n = opt_.schedule;
  if (n == "constant" || n == "plateau")
    s = optim::constant_lr();
  else if (n == "cosine")
    s = optim::cosine_lr(std::max<int64_t>(total - warmup, 1));
  else if (n == "step")
    s = optim::step_lr(opt_.step_size * spe, opt_.gamma);
  else if (n == "exponential")
    s = optim::exponential_lr(std::pow(opt_.gamma, 1.0 / double(spe)));
  else if (n == "multistep") {
    std::vector<int64_t> m;
    for (int64_t e : opt_.milestones) m.push_back(e * spe);
    s = optim::multi_step_lr(m, opt_.gamma);
  } else {
    throw Error("train: unknown schedule '" + n +
                "' (constant, step, multistep, exponential, cosine, plateau)");
  }
  return warmup > 0 ? optim::with_warmup(s, warmup) : s;
}

std::string Trainer::weights_path(const std::string& which) const {
  return (std::filesystem::path(opt_.out_dir) / (which + ".safetensors")).string();
}
std::string Trainer::state_path() const {
  return (std::filesystem::path(opt_.out_dir) / "train_state.safetensors").string();
}

Metadata Trainer::run_metadata() const {
  Shape ex = train_->example_shape();
  nlohmann::json config = {{"in_channels", ex[0]},
                           {"num_classes", train_->num_classes()},
                           {"image_size", ex[1]},
                           {"class_names", train_->class_names()}};
  if (!opt_.norm_mean.empty())
    config["normalization"] = {{"mean", opt_.norm_mean}, {"std", opt_.norm_std}};
  if (!opt_.preprocessing.empty())
    config["preprocessing"] = nlohmann::json::parse(opt_.preprocessing);
  nlohmann::json run = {{"epochs", opt_.epochs},
                        {"batch_size", opt_.batch_size},
                        {"optimizer", opt_.optimizer},
                        {"lr", opt_.lr},
                        {"schedule", opt_.schedule},
                        {"seed", opt_.seed},
                        {"label_smoothing", opt_.label_smoothing}};
  if (!opt_.augmentation.empty()) run["augmentation"] = opt_.augmentation;
  if (!opt_.teacher.empty())
    run["distillation"] = {{"teacher", opt_.teacher},
                           {"temperature", opt_.distill_temperature},
                           {"alpha", opt_.distill_alpha}};
  return {{"model", opt_.model}, {"config", config.dump()}, {"run", run.dump()}};
}

bool Trainer::run() {
  namespace fs = std::filesystem;
  fs::create_directories(opt_.out_dir);
  auto say = [&](const std::string& s) {
    if (on_message) on_message(s);
  };

  data::DataLoader loader(train_, {.batch_size = opt_.batch_size,
                                   .shuffle = true,
                                   .seed = opt_.seed,
                                   .prefetch = 2,
                                   .workers = opt_.loader_workers});
  std::unique_ptr<data::DataLoader> val_loader;
  if (val_ && val_->size() > 0)
    val_loader = std::make_unique<data::DataLoader>(
        val_, data::LoaderOptions{.batch_size = 256, .shuffle = false, .prefetch = 2});
  optim::SchedulePtr schedule = make_schedule();
  optim::ReduceOnPlateau plateau({.factor = opt_.gamma, .patience = opt_.plateau_patience});

  TrainState st;
  if (opt_.resume) {
    CONVKIT_CHECK(fs::exists(state_path()), "train --resume: no training state at ", state_path());
    st = load_train_state(state_path(), *model_, *optimizer_);
    CONVKIT_CHECK(st.extra["model"] == opt_.model, state_path(), ": the state is of model '",
                  st.extra["model"], "', not '", opt_.model, "'");
    default_generator().set_state(st.rng_state);
    if (!st.plateau_state.empty()) plateau.load_state(st.plateau_state);
    say(detail::concat("resuming at epoch ", st.epoch + 1, ", batch ", st.next_batch, " (step ",
                       st.step, ")"));
  }
  std::ofstream log(fs::path(opt_.out_dir) / "metrics.jsonl",
                    opt_.resume ? std::ios::app : std::ios::trunc);
  auto save_state = [&]() {
    st.rng_state = default_generator().state();
    st.plateau_state = plateau.state();
    st.extra = run_metadata();
    save_train_state(state_path(), *model_, *optimizer_, st);
  };

  std::unique_ptr<Teacher> teacher;
  if (!opt_.teacher.empty()) {
    teacher = std::make_unique<Teacher>(opt_.teacher, opt_.norm_mean, opt_.norm_std);
    CONVKIT_CHECK(teacher->loaded().num_classes == train_->num_classes(), "teacher ", opt_.teacher,
                  " predicts ", teacher->loaded().num_classes, " classes; the data has ",
                  train_->num_classes());
    say(detail::concat("distilling from ", teacher->loaded().name, " (", opt_.teacher,
                       "), T=", opt_.distill_temperature, ", alpha=", opt_.distill_alpha));
  }

  for (int64_t epoch = st.epoch; epoch < opt_.epochs; ++epoch) {
    model_->train();
    metrics::RunningMetrics running;
    loader.start_epoch(epoch, st.next_batch);
    const auto t0 = Clock::now();
    int64_t batch = st.next_batch;
    while (auto b = loader.next()) {
      if (opt_.schedule != "plateau") optim::apply_schedule(*schedule, *optimizer_, st.step);
      optimizer_->zero_grad();
      Tensor logits = (*model_)(b->inputs);
      Tensor loss = teacher ? distillation_loss(logits, teacher->logits(b->inputs, b->indices),
                                                b->labels, opt_.distill_temperature,
                                                opt_.distill_alpha, opt_.label_smoothing)
                            : cross_entropy(logits, b->labels, opt_.label_smoothing);
      loss.backward();
      if (opt_.clip_grad_norm > 0) optim::clip_grad_norm(model_->parameters(), opt_.clip_grad_norm);
      optimizer_->step();
      ++st.step;
      ++batch;
      running.add(loss.item(), logits.detach(), b->labels);
      if (on_progress) {
        double secs = seconds_since(t0);
        double ips = double(running.count()) / std::max(secs, 1e-9);
        double left =
            double(loader.num_batches() - batch) * double(opt_.batch_size) / std::max(ips, 1e-9);
        on_progress({epoch, opt_.epochs, batch, loader.num_batches(), running.loss(),
                     running.top1(), ips, left});
      }
      if (stop_flag.load()) {
        loader.stop();
        st.epoch = epoch;
        st.next_batch = batch;
        save_state();
        say("interrupted: saved a resumable state to " + state_path() + " (resume with --resume)");
        return false;
      }
    }
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.seconds = seconds_since(t0);
    rec.train_loss = running.loss();
    rec.train_acc = running.top1();
    rec.images_per_second = double(running.count()) / std::max(rec.seconds, 1e-9);
    rec.lr = optimizer_->param_groups()[0].lr;
    double metric = rec.train_acc;
    if (val_loader) {
      EvalResult v = evaluate(*model_, *val_loader, train_->num_classes(), opt_.label_smoothing);
      rec.has_val = true;
      rec.val_loss = v.loss;
      rec.val_acc = v.top1;
      rec.val_top5 = v.top5;
      metric = v.top1;
    }
    // The halves of a split share one file set and one count, so the larger is the total.
    rec.skipped_files = std::max(train_->skipped_files(), val_ ? val_->skipped_files() : 0);
    if (opt_.schedule == "plateau")
      plateau.step(val_loader ? rec.val_loss : rec.train_loss, *optimizer_);
    rec.best = metric > st.best_metric;
    Metadata meta = run_metadata();
    meta["epoch"] = std::to_string(rec.epoch);
    if (rec.best) {
      st.best_metric = metric;
      save_weights(weights_path("best"), *model_, meta);
    }
    save_weights(weights_path("last"), *model_, meta);
    st.epoch = epoch + 1;
    st.next_batch = 0;
    save_state();
    nlohmann::json j = {{"epoch", rec.epoch},
                        {"train_loss", rec.train_loss},
                        {"train_acc", rec.train_acc},
                        {"val_loss", rec.val_loss},
                        {"val_acc", rec.val_acc},
                        {"val_top5", rec.val_top5},
                        {"lr", rec.lr},
                        {"seconds", rec.seconds},
                        {"images_per_second", rec.images_per_second},
                        {"skipped_files", rec.skipped_files}};
    if (!rec.has_val) j["val_loss"] = j["val_acc"] = j["val_top5"] = nullptr;  // no validation set
    log << j.dump() << std::endl;
    history_.push_back(rec);
    if (on_epoch) on_epoch(rec);
  }
  return true;
}

}  // namespace convkit::train
