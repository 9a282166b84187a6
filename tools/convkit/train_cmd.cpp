// convkit train: trains a registered model; Ctrl-C saves a resumable state.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "augment_options.h"
#include "commands.h"
#include "convkit/backend.h"
#include "convkit/data/augmented.h"
#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/classification_data.h"
#include "convkit/train/distillation.h"
#include "convkit/train/setup.h"
#include "embed_options.h"
#include "image_data.h"
#include "init_options.h"
#include "leak_check.h"
#include "metadata_train.h"
#include "pausable.h"
#include "progress.h"
#include "train_detect.h"
#include "train_dist.h"

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
  std::string dtype = "f32";      // bf16: mixed-precision convolutions (convkit/backend.h)
  InitArgs init;                  // --init, --freeze, --lr-mult
  std::string metadata_columns;   // an image + metadata model (metadata_train.h)
  std::string task = "classify";  // classify, detect (train_detect.cpp) or embed (train_embed.cpp)
  DetectTrainArgs detect;
  EmbedArgs embed;
  std::string fold;  // "K/N": fold K of N stratified folds is the validation set (convkit cv)
  bool leak_check = true;
  DistArgs dist;  // under mpirun (train_dist.h)
};

// --fold K/N as (K, N), 0 <= K < N.
std::pair<int64_t, int64_t> parse_fold(const std::string& s) {
  const size_t slash = s.find('/');
  try {
    size_t used = 0;
    const int64_t k = std::stoll(s.substr(0, slash), &used);
    const int64_t n = std::stoll(s.substr(slash + 1));
    if (slash != std::string::npos && used == slash && k >= 0 && n >= 2 && k < n) return {k, n};
  } catch (const std::exception&) {
  }
  throw Error("train --fold: expected K/N with 0 <= K < N and N >= 2 (fold K of N), got '" + s +
              "'");
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

// Test hook (tests/test_train_cli.cpp, test_dist_cli.cpp): CONVKIT_TEST_SIGNAL_AT="INT:17",
// "KILL:17" or "STOP:17" makes the process signal itself after global step 17, so interruption is
// tested at a known point; with CONVKIT_TEST_SIGNAL_RANK=R only rank R of an mpirun job does.
class TestSignal : public train::Callback {
 public:
  explicit TestSignal(int rank) {
    const char* only = std::getenv("CONVKIT_TEST_SIGNAL_RANK");
    if (only && std::atoi(only) != rank) return;
    if (const char* hook = std::getenv("CONVKIT_TEST_SIGNAL_AT")) {
      std::string h = hook;
      signal_ = h.rfind("KILL:", 0) == 0 ? SIGKILL : h.rfind("STOP:", 0) == 0 ? SIGSTOP : SIGINT;
      at_ = std::stoll(h.substr(h.find(':') + 1));
    }
  }
  void on_step_end(train::TrainContext&) override {
    if (++steps_ == at_) std::raise(signal_);
  }

 private:
  int signal_ = 0;
  int64_t at_ = -1, steps_ = 0;
};

// What a resume changes: a longer run stretches the cosine horizon (the LR of every later step).
void report_resume(const train::TrainOptions& o, const std::string& state_path) {
  if (!o.resume || !std::filesystem::exists(state_path)) return;
  const train::Metadata meta = train::read_metadata(state_path);
  auto run = meta.find("run");
  if (run == meta.end()) return;
  const auto j = nlohmann::json::parse(run->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("epochs") || !j["epochs"].is_number_integer()) return;
  const int64_t before = j["epochs"].get<int64_t>();
  if (before == o.epochs) return;
  std::printf("resuming a %lld-epoch run with --epochs %lld", (long long)before,
              (long long)o.epochs);
  if (o.schedule == "cosine" || (o.schedule == "multistep" && !o.milestones.empty()))
    std::printf(
        ": the %s schedule now spans %lld epochs, so the learning rate of the remaining "
        "steps differs from the original run's",
        o.schedule.c_str(), (long long)o.epochs);
  std::printf("\n");
}

void train_in_world(TrainArgs& a, dist::CommunicatorPtr comm);

void run_train(const TrainArgs& args) {
  TrainArgs a = args;
  apply_runtime_options(a.runtime);
  CONVKIT_CHECK(
      a.dtype == "f32" || backend() == Backend::dnnl,
      "train --dtype bf16: mixed precision runs on the oneDNN backend (not --backend ref)");
  const ConvBf16Guard mixed_precision(a.dtype == "bf16");
  dist::CommunicatorPtr comm = join_world(a.dist, a.runtime.threads);
  on_every_rank(*comm, [&] { train_in_world(a, comm); });
}

void train_in_world(TrainArgs& a, dist::CommunicatorPtr comm) {
  const bool parallel = comm->size() > 1;
  CONVKIT_CHECK(!parallel || (a.task == "classify" && a.metadata_columns.empty()),
                "train under mpirun: data-parallel training covers classification of images "
                "(--task classify without --metadata-columns); run this one as a single process");
  a.opt.world_size = comm->size();
  if (a.task == "embed") {
    CONVKIT_CHECK(
        a.init.init.empty() && a.init.freeze.empty() && a.init.lr_mult.empty(),
        "train --task embed: --init, --freeze and --lr-mult are not wired for embeddings");
    CONVKIT_CHECK(a.test_data.empty(), "train --task embed: --test-data is not used here; ",
                  "`convkit eval --task embed MODEL --data ...` scores a trained embedding");
    Sources s = open_sources(a);
    return run_train_embed(a.embed, a.opt, s.full, a.normalize, a.augment);
  }
  if (a.task == "detect") {
    a.detect.opt = a.opt;
    a.detect.data = a.data;
    a.detect.test_data = a.test_data;
    a.detect.image_size = a.images.image_size;
    a.detect.strict = a.images.strict;
    return run_train_detect(a.detect);
  }
  Sources src = open_sources(a);
  if (!a.metadata_columns.empty()) {
    CONVKIT_CHECK(src.images, "train --metadata-columns: the columns come from a .csv list; ",
                  a.data, " is not one");
    CONVKIT_CHECK(a.opt.teacher.empty() && a.init.init.empty() && a.init.freeze.empty() &&
                      a.init.lr_mult.empty() && !a.opt.resume &&
                      nlohmann::json::parse(data::recipe_from_flags(a.augment)).empty(),
                  "train --metadata-columns does not combine with --teacher, --init, --freeze, "
                  "--lr-mult, --resume or augmentation yet; drop them");
    auto test = std::dynamic_pointer_cast<const data::ImageDataset>(src.test);
    return train_with_metadata(a.opt, a.metadata_columns, a.data, src.images, a.test_data,
                               test ? std::const_pointer_cast<data::ImageDataset>(test) : nullptr,
                               a.progress);
  }
  std::vector<int64_t> fold_indices;
  if (!a.fold.empty()) {
    const auto [k, n] = parse_fold(a.fold);
    fold_indices = data::stratified_folds(src.full->labels(), n, a.opt.seed)[size_t(k)];
    std::printf("cross-validation fold %lld of %lld: %lld validation images\n", (long long)k + 1,
                (long long)n, (long long)fold_indices.size());
  }
  if (a.leak_check && !a.opt.resume && comm->rank() == 0) {
    std::vector<int64_t> val = fold_indices;
    if (val.empty() && a.opt.val_fraction > 0)
      val = std::dynamic_pointer_cast<const data::Subset>(
                data::train_val_split(src.full, a.opt.val_fraction, a.opt.seed).second)
                ->indices();
    warn_about_leaks(*src.full, val, src.test.get());
  }
  train::ClassificationData d =
      train::prepare_classification_data(src.full, src.test,
                                         {.val_fraction = a.opt.val_fraction,
                                          .val_indices = fold_indices,
                                          .seed = a.opt.seed,
                                          .normalize = a.normalize,
                                          .augmentation = [&](const data::DatasetPtr& plain) {
                                            return augmentation_for(a.augment, plain);
                                          }});
  a.opt.augmentation = d.augmentation;
  if (!d.augmentation.empty()) std::printf("augmentation: %s\n", d.augmentation.c_str());
  a.opt.norm_mean = d.stats.mean;
  a.opt.norm_std = d.stats.std;
  std::printf("convkit train: %s on %s (%lld train, %lld validation, %lld test images)\n",
              a.opt.model.c_str(), a.data.c_str(), (long long)d.train->size(),
              (long long)(d.val ? d.val->size() : 0), (long long)(d.test ? d.test->size() : 0));
  const train::TrainOptions& o = a.opt;

  // The model and the optimizer's parameter groups.
  // --init and --freeze act on the fresh model, before --resume loads a saved state over it.
  std::shared_ptr<nn::Module> model = train::make_model(o, *d.train);
  apply_sync_bn(a.dist, comm, *model);
  const bool from_weights = !a.init.init.empty() || !a.init.freeze.empty();
  if (from_weights) apply_init(a.init, *model);
  std::unique_ptr<optim::Optimizer> optimizer =
      train::make_optimizer(from_weights || !a.init.lr_mult.empty()
                                ? init_param_groups(a.init, *model, train::effective_lr(o),
                                                    o.weight_decay, o.no_decay_on_bias_bn)
                                : train::make_param_groups(*model, o),
                            o);

  // Under mpirun each rank loads its own shard of every epoch (train_dist.h).
  data::DataLoader loader(d.train, shard_loader({.batch_size = o.batch_size,
                                                 .shuffle = true,
                                                 .seed = o.seed,
                                                 .prefetch = 2,
                                                 .workers = o.loader_workers},
                                                d.train->size(), *comm, /*training=*/true));
  std::unique_ptr<data::DataLoader> val_loader;
  if (d.val && d.val->size() > 0)
    val_loader = std::make_unique<data::DataLoader>(
        d.val, shard_loader({.batch_size = 256, .shuffle = false, .prefetch = 2}, d.val->size(),
                            *comm, /*training=*/false));
  const train::ClassificationOptions task_options{.label_smoothing = o.label_smoothing};
  std::unique_ptr<train::ClassificationTask> task;
  if (o.teacher.empty()) {
    task = std::make_unique<train::ClassificationTask>(d.train->num_classes(), task_options);
  } else {
    auto teacher = std::make_shared<train::Teacher>(o.teacher, o.norm_mean, o.norm_std);
    task = std::make_unique<train::DistillationTask>(
        d.train->num_classes(), teacher, o.distill_temperature, o.distill_alpha, task_options);
    std::printf("distilling from %s (%s), T=%g, alpha=%g\n", teacher->loaded().name.c_str(),
                o.teacher.c_str(), o.distill_temperature, o.distill_alpha);
  }

  dist::ReducedTask reduced(*task, comm);  // validation metrics over every rank's part
  train::Trainer trainer(
      *model, *optimizer, parallel ? static_cast<train::Task&>(reduced) : *task, loader,
      val_loader.get(),
      {.epochs = o.epochs, .clip_grad_norm = o.clip_grad_norm, .detect_anomaly = o.detect_anomaly});
  std::shared_ptr<dist::DataParallel> data_parallel;
  if (parallel) {
    // First: the gradients are averaged before the non-finite guard and the optimizer see them.
    data_parallel = std::make_shared<dist::DataParallel>(
        comm, dist::DataParallelOptions{
                  .bucket_mb = a.dist.bucket_mb, .overlap = a.dist.overlap, .seed = o.seed});
    trainer.add_callback(data_parallel);
    std::printf("global batch: %d x %lld = %lld images per step\n", comm->size(),
                (long long)o.batch_size, (long long)(comm->size() * o.batch_size));
  }
  auto checkpoint = train::add_standard_callbacks(trainer, o, loader.num_batches(),
                                                  train::run_metadata(o, *d.train));
  if (comm->rank() == 0) trainer.add_callback(std::make_shared<Progress>(a.progress));
  trainer.add_callback(std::make_shared<TestSignal>(comm->rank()));
  trainer.on_message([](const std::string& s) { std::printf("%s\n", s.c_str()); });
  report_resume(o, checkpoint->state_path());
  train::Trainer::clear_stop();
  std::signal(SIGINT, on_sigint);
  // mpirun passes a Ctrl-C on to the ranks as SIGTERM: pause the same way.
  if (parallel) std::signal(SIGTERM, on_sigint);
  bool finished = trainer.run();
  std::signal(SIGINT, SIG_DFL);
  if (parallel) {
    std::signal(SIGTERM, SIG_DFL);
    const dist::DataParallelStats& st = data_parallel->stats();
    if (st.steps > 0)
      std::printf(
          "all-reduce: %lld buckets, %.2f MB of gradients per step; waiting after backward "
          "%.2f ms per step (backward %.2f ms per step)\n",
          (long long)st.buckets, double(st.gradient_bytes) / 1e6,
          1e3 * st.exposed_seconds / double(st.steps),
          1e3 * st.backward_seconds / double(st.steps));
  }
  if (!finished) {
    // Ctrl-C is the documented way to pause a run: a normal message, and the shell's status for
    // SIGINT (docs/training.md).
    std::printf("training paused; resume with the same command and --resume\n");
    std::fflush(stdout);
    throw CLI::RuntimeError(kInterruptedStatus);
  }

  if (d.val) std::printf("validation: best top-1 accuracy %.2f%%\n", 100 * trainer.best_metric());
  if (d.test && comm->rank() == 0) {
    data::DataLoader test_loader(d.test, {.batch_size = 256, .shuffle = false});
    train::EvalResult last = train::evaluate(*model, test_loader, d.test->num_classes());
    std::printf("test (last weights): loss %.4f, top-1 accuracy %.2f%%", last.loss,
                100 * last.top1);
    if (d.test->num_classes() > 5) std::printf(", top-5 %.2f%%", 100 * last.top5);
    std::printf("\n");
    if (d.val) {
      train::load_weights(checkpoint->weights_path("best"), *model);
      train::EvalResult best = train::evaluate(*model, test_loader, d.test->num_classes());
      std::printf("test (best-validation weights): top-1 accuracy %.2f%%\n", 100 * best.top1);
    }
  }
  std::printf("weights: %s, %s; metrics log: %s/metrics.jsonl\n",
              checkpoint->weights_path("best").c_str(), checkpoint->weights_path("last").c_str(),
              o.out_dir.c_str());
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
  cmd->add_option("--clip-grad-norm,--max-grad-norm", o.clip_grad_norm,
                  "Clip gradients to this global L2 norm (0: off)")
      ->capture_default_str();
  cmd->add_option("--val-fraction,--val-split", o.val_fraction,
                  "Fraction of the training set held out for validation")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd->add_flag("!--no-leak-check", a->leak_check,
                "Skip the check for training images repeated in the validation and test sets");
  cmd->add_option("--fold", a->fold,
                  "K/N: validate on fold K (0-based) of N stratified folds instead of "
                  "--val-fraction (convkit cv runs one per fold)");
  cmd->add_option("--out,-o", o.out_dir, "Output directory (checkpoints, metrics log)")
      ->capture_default_str();
  cmd->add_flag("--resume", o.resume, "Continue the run saved in --out");
  cmd->add_flag("--overwrite", o.overwrite, "Replace the run in --out (default: refuse)");
  cmd->add_option("--skip-nonfinite", o.skip_nonfinite,
                  "Skip up to N batches whose loss or gradient is NaN/inf (default: stop at the "
                  "first)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--detect-anomaly", o.detect_anomaly,
                "Check every op's output for NaN/inf and name the op and module (slow)");
  cmd->add_option("--early-stopping", o.early_stopping,
                  "Stop after this many epochs without a better validation accuracy (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
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
  cmd->add_option("--metadata-columns", a->metadata_columns,
                  "CSV list columns fed beside the image: age,weight,site:cat (numeric "
                  "standardized, :cat embedded; docs/transfer.md)");
  cmd->add_option("--task", a->task,
                  "classify | detect (--data: a box CSV or VOC XML folder; docs/detection.md) | "
                  "embed (metric learning; docs/similarity.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"classify", "detect", "embed"}));
  add_embed_train_options(*cmd, a->embed);
  add_image_data_options(*cmd, a->images, /*training=*/true);
  add_runtime_options(*cmd, a->runtime);
  cmd->add_option("--dtype", a->dtype,
                  "f32, or bf16: mixed precision, every convolution's products in bfloat16 with "
                  "float32 accumulation, weights and optimizer (AVX-512 BF16; docs/performance.md)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  add_detect_train_options(*cmd, a->detect);
  add_dist_options(*cmd, a->dist);
  cmd->callback([a] { run_train(*a); });
}

}  // namespace convkit::cli
