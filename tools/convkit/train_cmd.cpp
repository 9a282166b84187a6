// convkit train: trains a registered model; Ctrl-C saves a resumable state.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "augment_options.h"
#include "commands.h"
#include "convkit/data/augmented.h"
#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/train/trainer.h"
#include "image_data.h"
#include "init_options.h"
#include "progress.h"

namespace convkit::cli {

namespace {
struct TrainArgs {
  train::TrainOptions opt;
  std::string data = data::kFashionMnistDir;
  std::string progress = "auto";
  bool normalize = true;
  data::AugmentFlags augment;
  ImageDataArgs images;
  std::string test_data;
  RuntimeOptions runtime;
  InitArgs init;
};

extern "C" void on_sigint(int) {
  train::Trainer::request_stop();
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C exits at once
}

// The training set and the test set (null when there is none): Fashion-MNIST-layout IDX files, or
// an image folder / CSV list with an optional separate test set.
struct Sources {
  data::DatasetPtr full, test;
  std::shared_ptr<data::ImageDataset> images;  // `full`, when it is an image set
};

Sources open_sources(TrainArgs& a) {
  Sources s;
  if (!is_image_data(a.data)) {
    CONVKIT_CHECK(a.test_data.empty(), "train: --test-data is for image folders and CSV lists; ",
                  a.data, " holds its own test split");
    s.full = data::fashion_mnist(a.data, true);
    s.test = data::fashion_mnist(a.data, false);
    return s;
  }
  data::ImagePreprocessing prep;
  prep.image_size = a.images.image_size;
  prep.load_size = a.images.load_size;
  prep.color = a.images.grayscale ? data::ColorMode::gray : data::ColorMode::rgb;
  s.images = open_image_data(a.data, prep, a.images);
  std::printf("data: %s\n", describe_image_data(a.data, *s.images).c_str());
  a.opt.preprocessing = prep.to_json();
  s.full = s.images;
  if (!a.test_data.empty()) {
    auto test = open_image_data(a.test_data, prep, a.images, s.images->class_names());
    std::printf("test data: %s\n", describe_image_data(a.test_data, *test).c_str());
    s.test = test;
  }
  return s;
}

void run_train(const TrainArgs& args) {
  TrainArgs a = args;
  apply_runtime_options(a.runtime);
  Sources src = open_sources(a);
  data::DatasetPtr test = src.test;
  data::DatasetPtr train_set = src.full, val_set;
  if (a.opt.val_fraction > 0)
    std::tie(train_set, val_set) = data::train_val_split(src.full, a.opt.val_fraction, a.opt.seed);
  // Statistics (standardization, colour PCA) come from the unaugmented training part.
  data::DatasetPtr plain_train = train_set;
  if (data::TransformPtr t = augmentation_for(a.augment, plain_train)) {
    a.opt.augmentation = t->describe();
    std::printf("augmentation: %s\n", a.opt.augmentation.c_str());
    if (src.images) {
      // Image sets transform the decoded image before it is resized to the model's input, so the
      // transform may change the size; the validation half keeps the plain dataset.
      auto augmented = src.images->with_transform(t);
      if (auto* part = dynamic_cast<const data::Subset*>(train_set.get()))
        train_set = std::make_shared<data::Subset>(augmented, part->indices());
      else
        train_set = augmented;
    } else {
      train_set = std::make_shared<data::Augmented>(train_set, t);
    }
  }
  if (a.normalize) {
    // Statistics of the training part only; validation and test get the same transform.
    data::ChannelStats st = data::channel_stats(*plain_train);
    a.opt.norm_mean = st.mean;
    a.opt.norm_std = st.std;
    train_set = std::make_shared<data::Normalized>(train_set, st);
    if (val_set) val_set = std::make_shared<data::Normalized>(val_set, st);
    if (test) test = std::make_shared<data::Normalized>(test, st);
  }
  std::printf("convkit train: %s on %s (%lld train, %lld validation, %lld test images)\n",
              a.opt.model.c_str(), a.data.c_str(), (long long)train_set->size(),
              (long long)(val_set ? val_set->size() : 0), (long long)(test ? test->size() : 0));
  if (!a.init.init.empty() || !a.init.freeze.empty())
    a.opt.prepare_model = [&](nn::Module& m) { apply_init(a.init, m); };
  if (!a.init.lr_mult.empty())
    a.opt.make_groups = [&](const nn::Module& m, double lr) {
      return init_param_groups(a.init, m, lr, a.opt.weight_decay, a.opt.no_decay_on_bias_bn);
    };
  train::Trainer trainer(a.opt, train_set, val_set);
  Progress progress(a.progress);
  // Test hook (tests/test_train_cli.cpp): CONVKIT_TEST_SIGNAL_AT="INT:17" or "KILL:17" makes the
  // process signal itself after global step 17, so interruption is tested at a known point.
  int signal_no = 0;
  int64_t signal_step = -1, step = 0;
  if (const char* hook = std::getenv("CONVKIT_TEST_SIGNAL_AT")) {
    std::string h = hook;
    signal_no = h.rfind("KILL:", 0) == 0 ? SIGKILL : SIGINT;
    signal_step = std::stoll(h.substr(h.find(':') + 1));
  }
  trainer.on_progress = [&](const train::ProgressEvent& e) {
    progress.update(e);
    if (++step == signal_step) std::raise(signal_no);
  };
  trainer.on_epoch = [&](const train::EpochRecord& r) { progress.epoch_done(r); };
  trainer.on_message = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  train::Trainer::clear_stop();
  std::signal(SIGINT, on_sigint);
  bool finished = trainer.run();
  std::signal(SIGINT, SIG_DFL);
  if (!finished) throw Error("training interrupted; resume with the same command and --resume");

  if (!test) {
    double best = 0;
    for (const auto& r : trainer.history()) best = std::max(best, r.val_acc);
    if (val_set) std::printf("validation: best top-1 accuracy %.2f%%\n", 100 * best);
    std::printf("weights: %s, %s; metrics log: %s/metrics.jsonl\n",
                trainer.weights_path("best").c_str(), trainer.weights_path("last").c_str(),
                a.opt.out_dir.c_str());
    return;
  }
  data::DataLoader test_loader(test, {.batch_size = 256, .shuffle = false});
  train::EvalResult last = train::evaluate(trainer.model(), test_loader, test->num_classes());
  std::printf("test (last weights): loss %.4f, top-1 accuracy %.2f%%, top-5 %.2f%%\n", last.loss,
              100 * last.top1, 100 * last.top5);
  if (val_set) {
    train::load_weights(trainer.weights_path("best"), trainer.model());
    train::EvalResult best = train::evaluate(trainer.model(), test_loader, test->num_classes());
    std::printf("test (best-validation weights): top-1 accuracy %.2f%%\n", 100 * best.top1);
  }
  std::printf("weights: %s, %s; metrics log: %s/metrics.jsonl\n",
              trainer.weights_path("best").c_str(), trainer.weights_path("last").c_str(),
              a.opt.out_dir.c_str());
}
}  // namespace

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd =
      app.add_subcommand("train", "Train a model (default: lenet5-modern on Fashion-MNIST)");
  train::TrainOptions& o = a->opt;
  cmd->add_option("--model,-m", o.model, "Registered model name (see `convkit summary --list`)")
      ->capture_default_str();
  cmd->add_option("--data", a->data,
                  "Directory with MNIST-layout IDX files, an image folder (one sub-folder per "
                  "class) or a .csv list")
      ->capture_default_str();
  cmd->add_option("--test-data", a->test_data,
                  "Image folder or .csv list evaluated after training (with --data an image set)");
  cmd->add_option("--epochs,-e", o.epochs, "Epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size,-b", o.batch_size, "Batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", o.optimizer, "sgd | adam | adamw")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  cmd->add_option("--lr", o.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  cmd->add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  cmd->add_option("--weight-decay", o.weight_decay, "Weight decay")->capture_default_str();
  cmd->add_option("--schedule", o.schedule,
                  "constant | step | multistep | exponential | cosine | plateau")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "step", "multistep", "exponential", "cosine", "plateau"}));
  cmd->add_option("--warmup", o.warmup_epochs,
                  "Linear warm-up length in epochs (may be fractional)")
      ->capture_default_str();
  cmd->add_option("--step-size", o.step_size, "Epochs per decay (step schedule)")
      ->capture_default_str();
  cmd->add_option("--milestones", o.milestones, "Epochs at which to decay (multistep schedule)");
  cmd->add_option("--gamma", o.gamma,
                  "Decay factor (step, multistep, exponential per epoch, plateau)")
      ->capture_default_str();
  cmd->add_option("--scale-lr", o.scale_lr_base_batch,
                  "Linear scaling rule: lr *= batch-size / this base batch size (0: off)")
      ->capture_default_str();
  cmd->add_option("--label-smoothing", o.label_smoothing, "Label smoothing epsilon")
      ->capture_default_str();
  cmd->add_option("--teacher", o.teacher,
                  "Distill from this trained model (weights file, e.g. runs/big/best.safetensors)");
  cmd->add_option("--distill-temperature", o.distill_temperature, "Distillation temperature T")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--distill-alpha", o.distill_alpha,
                  "Weight of the soft (teacher) term; 1 - alpha goes to the hard labels")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--clip-grad-norm", o.clip_grad_norm,
                  "Clip gradients to this global L2 norm (0: off)")
      ->capture_default_str();
  cmd->add_option("--val-fraction,--val-split", o.val_fraction,
                  "Fraction of the training set held out for validation")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd->add_option("--out,-o", o.out_dir, "Output directory (checkpoints, metrics log)")
      ->capture_default_str();
  cmd->add_flag("--resume", o.resume, "Continue the run saved in --out");
  cmd->add_flag(
      "!--no-normalize", a->normalize,
      "Use inputs as they are (default: standardize each channel with training-set statistics)");
  cmd->add_option("--progress", a->progress, "auto | always | never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_option("--workers", o.loader_workers, "Threads assembling (augmenting) training batches")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_augment_options(*cmd, a->augment);
  add_init_options(*cmd, a->init);
  add_image_data_options(*cmd, a->images, /*training=*/true);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_train(*a); });
}

}  // namespace convkit::cli
