#include "convkit/transfer/recipe.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "convkit/optim/schedule.h"
#include "convkit/optim/sgd.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/trainer.h"
#include "convkit/transfer/feature_cache.h"

namespace convkit::transfer {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool has_trainable(const nn::Module& m) {
  for (const Tensor& p : m.parameters())
    if (p.requires_grad()) return true;
  return false;
}

// SGD with momentum over `groups`, cosine decay over the stage, no per-epoch validation (the
// stage is evaluated once at its end). Returns the training seconds. `in_memory`: the examples
// are ready (cached features), so batches are cut on the training thread: loader threads started
// every epoch cost more than the head's steps (measured: 30x instead of 40-57x over the frozen
// base with 25 images, docs/transfer.md).
double run_stage(nn::Module& model, std::vector<optim::ParamGroup> groups,
                 const data::DatasetPtr& train, const StageOptions& o, bool in_memory = false) {
  CONVKIT_CHECK(o.epochs >= 0 && o.batch_size > 0 && o.lr > 0,
                "transfer: a stage needs epochs "
                ">= 0, batch_size > 0 and lr > 0 (got ",
                o.epochs, ", ", o.batch_size, ", ", o.lr, ")");
  if (o.epochs == 0) return 0;
  optim::SGD sgd(std::move(groups), {.momentum = o.momentum});
  train::ClassificationTask task(train->num_classes());
  data::DataLoader loader(
      train, {.batch_size = o.batch_size, .seed = o.seed, .prefetch = in_memory ? 0 : 2});
  train::Trainer trainer(model, sgd, task, loader, /*val_loader=*/nullptr, {.epochs = o.epochs});
  trainer.add_callback(
      std::make_shared<train::ScheduleCallback>(optim::cosine_lr(o.epochs * loader.num_batches())));
  const auto t0 = std::chrono::steady_clock::now();
  trainer.run();
  return seconds_since(t0);
}

optim::GroupOptions group_options(const StageOptions& o) {
  optim::GroupOptions g;
  g.lr = o.lr;
  g.weight_decay = o.weight_decay;
  return g;
}

void evaluate_stage(StageResult& r, nn::Module& model, const data::DatasetPtr& val,
                    const data::DatasetPtr& test, int64_t batch_size) {
  if (val) r.val_acc = accuracy(model, val, batch_size);
  if (test) r.test_acc = accuracy(model, test, batch_size);
}
}  // namespace

TransferModel::TransferModel(std::shared_ptr<Truncated> base_, int64_t num_classes)
    : nn::Module("TransferModel"), base(register_module("base", std::move(base_))) {
  CONVKIT_CHECK(num_classes > 0, "TransferModel: num_classes must be positive, got ", num_classes);
  base->freeze();
  head = register_module("head", std::make_shared<nn::Sequential>());
  head->add(std::make_shared<nn::Flatten>());
  head->add(std::make_shared<nn::Linear>(base->feature_shape().numel(), num_classes));
}

Tensor TransferModel::forward(const Tensor& x) { return (*head)((*base)(x)); }

std::vector<std::string> unfreeze_top(TransferModel& model, int64_t n) {
  CONVKIT_CHECK(n >= 0, "unfreeze_top: the number of blocks must be >= 0, got ", n);
  const std::vector<std::string>& blocks = model.base->blocks();
  std::vector<std::string> done;
  for (auto it = blocks.rbegin(); it != blocks.rend() && int64_t(done.size()) < n; ++it) {
    model.base->child(*it)->unfreeze();
    done.push_back(*it);
  }
  return done;
}

void unfreeze_blocks(TransferModel& model, const std::vector<std::string>& names) {
  std::string known;
  for (const std::string& b : model.base->blocks()) known += (known.empty() ? "" : ", ") + b;
  for (const std::string& name : names) {
    std::shared_ptr<nn::Module> m;
    try {
      m = model.base->child(name);
    } catch (const Error& e) {
      throw Error("unfreeze: '" + name + "' is not a module of the base cut at " +
                  model.base->layer() + " (its blocks, bottom to top: " + known + "): " + e.what());
    }
    m->unfreeze();
  }
}

std::string StageResult::to_string() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %lld epochs, %lld trainable parameters, %.3g s",
                stage.c_str(), static_cast<long long>(epochs), static_cast<long long>(trainable),
                seconds);
  std::string s = buf;
  if (extract_seconds > 0) {
    std::snprintf(buf, sizeof buf, " (+ %.3g s extracting features)", extract_seconds);
    s += buf;
  }
  if (val_acc >= 0) {
    std::snprintf(buf, sizeof buf, ", val %.2f%%", 100 * val_acc);
    s += buf;
  }
  if (test_acc >= 0) {
    std::snprintf(buf, sizeof buf, ", test %.2f%%", 100 * test_acc);
    s += buf;
  }
  return s;
}

StageResult train_head(TransferModel& model, const TransferData& data,
                       const StageOptions& options) {
  model.base->freeze();
  StageResult r;
  r.stage = "head";
  r.epochs = options.epochs;
  r.trainable = model.num_parameters(/*trainable_only=*/true);
  if (options.cache_dir.empty()) {
    r.seconds =
        run_stage(model, optim::param_groups(model, group_options(options)), data.train, options);
    evaluate_stage(r, model, data.val, data.test, options.batch_size);
    return r;
  }
  std::filesystem::create_directories(options.cache_dir);
  const auto t0 = std::chrono::steady_clock::now();
  bool built = false;
  auto features = [&](const data::DatasetPtr& ds, const std::string& split) -> data::DatasetPtr {
    if (!ds) return nullptr;
    CachedFeatures c = cached_features(options.cache_dir + "/" + split + ".ckfeat", *model.base, ds,
                                       options.data_source + "|" + split, options.batch_size);
    built = built || c.built;
    return c.dataset;
  };
  const data::DatasetPtr train = features(data.train, "train"), val = features(data.val, "val"),
                         test = features(data.test, "test");
  r.extract_seconds = built ? seconds_since(t0) : 0.0;
  r.seconds = run_stage(*model.head, optim::param_groups(*model.head, group_options(options)),
                        train, options, /*in_memory=*/true);
  evaluate_stage(r, *model.head, val, test, options.batch_size);
  return r;
}

StageResult train_joint(TransferModel& model, const TransferData& data,
                        const StageOptions& options) {
  CONVKIT_CHECK(
      options.base_lr_mult >= 0 && options.block_lr_decay > 0 && options.block_lr_decay <= 1,
      "train_joint: base_lr_mult must be >= 0 and block_lr_decay in (0, 1], got ",
      options.base_lr_mult, " and ", options.block_lr_decay);
  optim::GroupOptions g = group_options(options);
  double mult = options.base_lr_mult;
  const std::vector<std::string>& blocks = model.base->blocks();
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    if (!has_trainable(*model.base->child(*it))) continue;
    g.lr_mult.push_back({"base." + *it, mult});
    mult *= options.block_lr_decay;
  }
  StageResult r;
  r.stage = "joint";
  r.epochs = options.epochs;
  r.trainable = model.num_parameters(/*trainable_only=*/true);
  r.seconds = run_stage(model, optim::param_groups(model, g), data.train, options);
  evaluate_stage(r, model, data.val, data.test, options.batch_size);
  return r;
}

StageResult train_scratch(TransferModel& fresh, const TransferData& data,
                          const StageOptions& options) {
  fresh.unfreeze();
  StageResult r;
  r.stage = "scratch";
  r.epochs = options.epochs;
  r.trainable = fresh.num_parameters(/*trainable_only=*/true);
  r.seconds =
      run_stage(fresh, optim::param_groups(fresh, group_options(options)), data.train, options);
  evaluate_stage(r, fresh, data.val, data.test, options.batch_size);
  return r;
}

double accuracy(nn::Module& model, const data::DatasetPtr& ds, int64_t batch_size) {
  data::DataLoader loader(ds, {.batch_size = batch_size, .shuffle = false});
  return train::evaluate(model, loader, ds->num_classes()).top1;
}

}  // namespace convkit::transfer
