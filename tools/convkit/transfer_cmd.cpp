// convkit transfer: the five-step fine-tuning recipe on a pretrained base, with a from-scratch
// baseline of the same budget beside it (docs/transfer.md; the library: transfer/recipe.h).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "augment_options.h"
#include "commands.h"
#include "convkit/io/safetensors.h"
#include "convkit/io/state_dict.h"
#include "convkit/models/registry.h"
#include "convkit/nn/transfer.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/classification_data.h"
#include "convkit/transfer/recipe.h"
#include "image_data.h"

namespace convkit::cli {

namespace {
struct TransferArgs {
  std::string base, model, data, test_data, cut, unfreeze = "1", cache, out = "runs/transfer",
                                                 features = "pool";
  int64_t image_size = 0, head_epochs = 5, joint_epochs = 5;
  double val_fraction = 0.2;
  bool no_cache = false, compare_uncached = false;
  transfer::StageOptions stage;
  data::AugmentFlags augment;
  ImageDataArgs images;
  RuntimeOptions runtime;
};

// The base file as a registry model: checkpoints and torchvision state dicts load as one; an
// .onnx file's initializers load into the registry model --model (a graph has no modules to cut).
struct Base {
  infer::ModelBundle bundle;
  std::string arch;
  models::ModelConfig config;
};

Base load_base(const TransferArgs& a) {
  infer::BundleOptions bo;
  bo.torchvision.model = a.model;
  bo.image_size = a.image_size;
  Base b{infer::load_bundle(a.base, bo), "", {}};
  CONVKIT_CHECK(!b.bundle.metadata.count("transfer"), "transfer --base ", a.base,
                ": is itself a `convkit transfer` result; transfer from the base it was made from");
  b.arch = a.model.empty() ? b.bundle.name : a.model;
  b.config = {b.bundle.in_channels, b.bundle.num_classes > 0 ? b.bundle.num_classes : 1000,
              b.bundle.image_size};
  const bool onnx = std::filesystem::path(a.base).extension() == ".onnx";
  CONVKIT_CHECK(!onnx || !a.model.empty() || b.bundle.name != "onnx", "transfer --base ", a.base,
                ": cutting an ONNX file at a layer needs the registry model its initializers "
                "belong to; pass --model NAME (e.g. resnet18)");
  if (onnx) {
    b.bundle.module = models::create_model(b.arch, b.config);
    nn::LoadReport r = nn::load_matching(*b.bundle.module, io::read_state_dict(a.base),
                                         {.allow_skipped = false, .source = a.base});
    std::printf("%s", r.to_string().c_str());
  }
  return b;
}

// The layer before the last top-level child (the classifier): a registry model's pooled features.
std::string default_cut(nn::Module& base) {
  const auto children = base.named_children();
  CONVKIT_CHECK(children.size() >= 2, "transfer: ", base.type_name(),
                " has fewer than two top-level modules; name the layer to cut at with --cut");
  return children[children.size() - 2].first;
}

void run_transfer(const TransferArgs& args) {
  TransferArgs a = args;
  apply_runtime_options(a.runtime);
  CONVKIT_CHECK(is_image_data(a.data), "transfer --data ", a.data,
                ": expected an image folder or a .csv list (docs/data.md)");
  Base b = load_base(a);
  const std::string cut = a.cut.empty() ? default_cut(*b.bundle.module) : a.cut;
  const Shape example{b.bundle.in_channels, b.bundle.image_size, b.bundle.image_size};
  // "pool" averages a feature map over its positions; a cut that already gives a vector (the
  // default, after the base's own pooling) passes as it is.
  auto pooled_at = [&](std::shared_ptr<nn::Module> base, const std::string& at) {
    const Shape f = transfer::Truncated(std::move(base), at, example).feature_shape();
    return a.features == "pool" && f.ndim() == 3 && f[1] * f[2] > 1;
  };
  const bool pool = pooled_at(b.bundle.module, cut);

  auto images = open_image_data(a.data, b.bundle.preprocessing, a.images);
  std::printf("data: %s\n", describe_image_data(a.data, *images).c_str());
  data::DatasetPtr test;
  if (!a.test_data.empty())
    test = open_image_data(a.test_data, b.bundle.preprocessing, a.images, images->class_names());
  train::ClassificationData d =
      train::prepare_classification_data(images, test,
                                         {.val_fraction = a.val_fraction,
                                          .seed = a.stage.seed,
                                          .normalize = false,
                                          .augmentation = [&](const data::DatasetPtr& plain) {
                                            return augmentation_for(a.augment, plain);
                                          }});
  auto standardize = [&](const data::DatasetPtr& ds) -> data::DatasetPtr {
    if (!ds || b.bundle.standardization.mean.empty()) return ds;
    return std::make_shared<data::Normalized>(ds, b.bundle.standardization);
  };
  const transfer::TransferData data{standardize(d.train), standardize(d.val), standardize(d.test)};
  const int64_t classes = images->num_classes();
  std::printf(
      "convkit transfer: %s (%s) cut at %s%s, %lld classes; %lld train, %lld val, %lld test\n",
      b.arch.c_str(), a.base.c_str(), cut.c_str(), pool ? " (pooled)" : "", (long long)classes,
      (long long)data.train->size(), (long long)(data.val ? data.val->size() : 0),
      (long long)(data.test ? data.test->size() : 0));

  transfer::StageOptions head = a.stage, joint = a.stage, scratch = a.stage;
  head.epochs = a.head_epochs;
  joint.epochs = a.joint_epochs;
  scratch.epochs = a.head_epochs + a.joint_epochs;
  if (!d.augmentation.empty()) {
    std::printf("augmentation: %s (no feature cache: the frozen base runs every step)\n",
                d.augmentation.c_str());
  } else if (!a.no_cache) {
    head.cache_dir = a.cache.empty() ? a.out + "/features" : a.cache;
    head.data_source = std::filesystem::absolute(a.data).string() + "|" +
                       b.bundle.preprocessing.to_json() + "|seed " + std::to_string(a.stage.seed);
  }

  auto new_model = [&](std::shared_ptr<nn::Module> base, const std::string& at, bool pooled) {
    manual_seed(a.stage.seed);
    return transfer::TransferModel(std::make_shared<transfer::Truncated>(base, at, example, pooled),
                                   classes);
  };
  transfer::TransferModel model = new_model(b.bundle.module, cut, pool);
  std::vector<transfer::StageResult> results;
  results.push_back(transfer::train_head(model, data, head));
  std::printf("%s\n", results.back().to_string().c_str());
  if (a.compare_uncached && !head.cache_dir.empty()) {
    transfer::TransferModel again = new_model(b.bundle.module, cut, pool);
    transfer::StageOptions through = head;
    through.cache_dir.clear();
    transfer::StageResult r = transfer::train_head(again, data, through);
    char extraction[64] = "none, the cache was current";
    if (results.back().extract_seconds > 0)
      std::snprintf(extraction, sizeof extraction, "%.3g s", results.back().extract_seconds);
    std::printf(
        "head through the frozen base every step: %.3g s; on cached features: %.3g s "
        "(%.1fx faster; extraction once: %s)\n",
        r.seconds, results.back().seconds, r.seconds / results.back().seconds, extraction);
  }

  std::vector<std::string> unfrozen;
  if (a.unfreeze.find_first_not_of("0123456789") == std::string::npos) {
    unfrozen = transfer::unfreeze_top(model, std::stoll(a.unfreeze));
  } else {
    for (size_t s = 0; s <= a.unfreeze.size();) {
      const size_t e = std::min(a.unfreeze.find(',', s), a.unfreeze.size());
      if (e > s) unfrozen.push_back(a.unfreeze.substr(s, e - s));
      s = e + 1;
    }
    transfer::unfreeze_blocks(model, unfrozen);
  }
  std::string names;
  for (const std::string& n : unfrozen) names += (names.empty() ? "" : ", ") + n;
  std::printf(
      "unfrozen: %s (%lld of %lld parameters trainable)\n", names.empty() ? "none" : names.c_str(),
      (long long)model.num_parameters(/*trainable_only=*/true), (long long)model.num_parameters());
  results.push_back(transfer::train_joint(model, data, joint));
  std::printf("%s\n", results.back().to_string().c_str());

  // The baseline a user would otherwise train: the base's whole architecture (up to its own
  // classifier, whatever the cut), fresh weights, a new head.
  std::shared_ptr<nn::Module> fresh_base = models::create_model(b.arch, b.config);
  const std::string whole = default_cut(*fresh_base);
  transfer::TransferModel fresh = new_model(fresh_base, whole, pooled_at(fresh_base, whole));
  results.push_back(transfer::train_scratch(fresh, data, scratch));
  std::printf("%s\n", results.back().to_string().c_str());

  const auto& [h, j, s] = std::tie(results[0], results[1], results[2]);
  const bool on_val = j.val_acc >= 0;
  const double tj = on_val ? j.val_acc : j.test_acc, ts = on_val ? s.val_acc : s.test_acc,
               th = on_val ? h.val_acc : h.test_acc;
  if (tj >= 0)
    std::printf(
        "%s accuracy: frozen features + head %.2f%%, fine-tuned %.2f%%, from scratch "
        "%.2f%% (same %lld epochs)%s\n",
        on_val ? "validation" : "test", 100 * th, 100 * tj, 100 * ts, (long long)scratch.epochs,
        std::max(th, tj) < ts ? ": transfer does not help here (docs/transfer.md)" : "");
  std::filesystem::create_directories(a.out);
  // A checkpoint like `train`'s: eval, predict, serve, cam and export rebuild the model from the
  // registry name, the base's class count and the cut.
  infer::ModelBundle target = b.bundle;
  target.name = b.arch;
  target.num_classes = classes;
  target.class_names = images->class_names();
  target.trained_on_images = true;
  train::Metadata meta = infer::bundle_metadata(target);
  meta["transfer"] = nlohmann::json{
      {"base_classes", b.config.num_classes},
      {"cut", cut},
      {"pool", pool},
      {"base", a.base}}.dump();
  const std::string weights = a.out + "/transfer.safetensors";
  train::save_weights(weights, model, meta);
  std::printf("fine-tuned model: %s (convkit eval, predict and serve take it)\n", weights.c_str());
}
}  // namespace

void add_transfer(CLI::App& app) {
  auto a = std::make_shared<TransferArgs>();
  CLI::App* cmd =
      app.add_subcommand("transfer",
                         "Fine-tune a pretrained base on new classes (new head, frozen base, head, "
                         "unfreeze the top blocks, joint at a lower base LR) beside a from-scratch "
                         "baseline");
  cmd->add_option("--base", a->base,
                  "The pretrained model: a convkit checkpoint, a torchvision-named .safetensors "
                  "(with --model), or an .onnx file (with --model)")
      ->required();
  cmd->add_option("--model", a->model, "Registry name of the base's architecture (resnet18, ...)");
  cmd->add_option("--data", a->data, "The target set: image folder or .csv list")->required();
  cmd->add_option("--test-data", a->test_data, "A test set with the same classes");
  cmd->add_option("--val-fraction", a->val_fraction, "Held out of --data for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--cut", a->cut,
                  "Module the features come from (dotted path; default: the one before the "
                  "classifier)");
  cmd->add_option("--features", a->features,
                  "The head's input from the cut layer: pool (a feature map averaged over its "
                  "positions, as the base's own head does) or map (flattened as it is)")
      ->check(CLI::IsMember({"pool", "map"}))
      ->capture_default_str();
  cmd->add_option("--unfreeze", a->unfreeze,
                  "Top blocks to unfreeze for the joint stage: a count, or comma-separated names "
                  "(layer3,layer2; a single numeric name takes a comma: 12,)")
      ->capture_default_str();
  cmd->add_option("--head-epochs", a->head_epochs, "Epochs of the head on the frozen base")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epochs", a->joint_epochs, "Epochs of joint training after unfreezing")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lr", a->stage.lr, "The head's learning rate (SGD, cosine)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--base-lr-mult", a->stage.base_lr_mult, "Unfrozen base blocks' LR / head LR")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--block-lr-decay", a->stage.block_lr_decay,
                  "Discriminative LRs: each lower unfrozen block trains at this times the one "
                  "above (1: off)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--batch-size,-b", a->stage.batch_size, "Batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--weight-decay", a->stage.weight_decay, "L2 on weights")->capture_default_str();
  cmd->add_option("--seed", a->stage.seed, "Seed of the split, the head's init and shuffling")
      ->capture_default_str();
  cmd->add_option("--feature-cache", a->cache, "Feature cache folder (default: OUT/features)");
  cmd->add_flag("--no-feature-cache", a->no_cache,
                "Run the frozen base every step of the head stage");
  cmd->add_flag("--compare-uncached", a->compare_uncached,
                "Also train the head through the frozen base and print the speed-up");
  cmd->add_option("--out,-o", a->out, "Output folder (feature cache, fine-tuned weights)")
      ->capture_default_str();
  cmd->add_option("--image-size", a->image_size, "Input size of an ONNX base without metadata");
  add_augment_options(*cmd, a->augment);
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_transfer(*a); });
}

}  // namespace convkit::cli
