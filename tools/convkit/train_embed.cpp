// convkit train --task embed: metric learning with a P x K sampler and the triplet or contrastive
// loss (docs/similarity.md).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "augment_options.h"
#include "commands.h"
#include "convkit/embed/class_subset.h"
#include "convkit/embed/embedding_task.h"
#include "convkit/embed/pk_sampler.h"
#include "convkit/embed/subclasses.h"
#include "convkit/embed/verification.h"
#include "convkit/models/registry.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/classification_data.h"
#include "embed_options.h"
#include "pausable.h"

namespace convkit::cli {

void add_embed_train_options(CLI::App& cmd, EmbedArgs& e) {
  cmd.add_option("--loss", e.loss, "Embedding loss: triplet | contrastive")
      ->capture_default_str()
      ->check(CLI::IsMember({"triplet", "contrastive"}));
  cmd.add_option("--mining", e.mining, "Triplet mining in a P x K batch: all | hard | semihard")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "hard", "semihard"}));
  cmd.add_option("--pk", e.pk, "Embedding batches: P classes x K examples, as P,K")
      ->capture_default_str();
  cmd.add_option("--margin", e.margin, "Triplet / contrastive margin (unit-length embeddings)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--embedding-dim", e.dim, "Embedding size d")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--subclasses", e.subclasses,
                 "Split each training class into N pseudo-identities by k-means on its pixels "
                 "(0: off; docs/similarity.md)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--train-classes", e.train_classes,
                 "Train on these classes only, e.g. 0-6 (default: all)");
}

namespace {
std::pair<int64_t, int64_t> parse_pk(const std::string& s) {
  int64_t p = 0, k = 0;
  char extra = 0;
  CONVKIT_CHECK(std::sscanf(s.c_str(), "%lld,%lld%c", (long long*)&p, (long long*)&k, &extra) == 2,
                "--pk '", s, "': expected P,K (classes per batch, examples per class), e.g. 16,4");
  return {p, k};
}

// The run's "embedding" metadata entry (embed/embedder.h), with the threshold once known.
std::string embedding_entry(const EmbedArgs& e, const std::vector<int64_t>& classes,
                            double threshold = -1) {
  nlohmann::json j = {{"dim", e.dim},       {"loss", e.loss}, {"mining", e.mining},
                      {"margin", e.margin}, {"pk", e.pk},     {"train_classes", classes}};
  if (threshold >= 0) j["threshold"] = threshold;
  return j.dump();
}

// One line per epoch with the embedding logs (the classification progress bar shows accuracy).
class EpochLine : public train::Callback {
 public:
  void on_epoch_end(train::TrainContext&, train::EpochRecord& r) override {
    auto get = [](const train::Logs& l, const char* k) {
      auto it = l.find(k);
      return it == l.end() ? 0.0 : it->second;
    };
    std::printf("epoch %lld: loss %.4f, active %.1f%%, d_pos %.3f, d_neg %.3f", (long long)r.epoch,
                get(r.train, "loss"), 100 * get(r.train, "active"), get(r.train, "d_pos"),
                get(r.train, "d_neg"));
    if (r.has_val)
      std::printf(" | val AUC %.4f, pairs %.2f%%", get(r.val, "auc"), 100 * get(r.val, "pair_acc"));
    std::printf(" | lr %.5f, %.1f s%s\n", r.lr, r.seconds, r.best ? " *" : "");
    std::fflush(stdout);
  }
};
}  // namespace

void run_train_embed(const EmbedArgs& e, train::TrainOptions o, data::DatasetPtr full,
                     bool normalize, const data::AugmentFlags& augment) {
  CONVKIT_CHECK(o.teacher.empty(),
                "train --task embed: --teacher is for classification "
                "(distillation of class probabilities)");
  const auto [p, k] = parse_pk(e.pk);
  std::vector<int64_t> classes;
  if (e.train_classes.empty()) {
    for (int64_t c = 0; c < full->num_classes(); ++c) classes.push_back(c);
  } else {
    classes = embed::parse_class_list(e.train_classes);
    full = embed::subset_of_classes(full, classes);
  }
  train::ClassificationData d =
      train::prepare_classification_data(full, nullptr,
                                         {.val_fraction = o.val_fraction,
                                          .seed = o.seed,
                                          .normalize = normalize,
                                          .augmentation = [&](const data::DatasetPtr& plain) {
                                            return augmentation_for(augment, plain);
                                          }});
  o.augmentation = d.augmentation;
  o.norm_mean = d.stats.mean;
  o.norm_std = d.stats.std;
  o.batch_size = p * k;
  std::printf(
      "convkit train --task embed: %s, d=%lld, %s loss%s, margin %g, P x K = %lld x %lld, "
      "%lld train / %lld validation images of classes %s\n",
      o.model.c_str(), (long long)e.dim, e.loss.c_str(),
      e.loss == "triplet" ? (" (" + e.mining + " mining)").c_str() : "", e.margin, (long long)p,
      (long long)k, (long long)d.train->size(), (long long)(d.val ? d.val->size() : 0),
      e.train_classes.empty() ? "all" : e.train_classes.c_str());
  if (!d.augmentation.empty()) std::printf("augmentation: %s\n", d.augmentation.c_str());

  const Shape ex = d.train->example_shape();
  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model = models::create_model(
      o.model, {.in_channels = ex[0], .num_classes = e.dim, .image_size = ex[1]});
  auto optimizer = train::make_optimizer(train::make_param_groups(*model, o), o);
  if (e.subclasses > 1) {
    d.train = std::make_shared<embed::Relabelled>(
        d.train, embed::subclass_labels(*d.train, e.subclasses, o.seed));
    std::printf("identities: each class split into %lld by k-means (%lld in all)\n",
                (long long)e.subclasses, (long long)d.train->num_classes());
  }
  auto sampler = std::make_shared<embed::PKSampler>(d.train->labels(), p, k, o.seed);
  data::DataLoader loader(
      d.train,
      {.batch_size = p * k, .seed = o.seed, .workers = o.loader_workers, .sampler = sampler});
  std::unique_ptr<data::DataLoader> val_loader;
  if (d.val && d.val->size() > 0)
    val_loader = std::make_unique<data::DataLoader>(
        d.val, data::LoaderOptions{.batch_size = 256, .shuffle = false});
  embed::EmbeddingTask task({.loss = embed::parse_loss(e.loss),
                             .mining = embed::parse_mining(e.mining),
                             .margin = e.margin},
                            e.val_pairs);

  // The registry model's config, with d outputs and no class names (they are identities now).
  train::Metadata meta = train::run_metadata(o, *d.train);
  auto config = nlohmann::json::parse(meta["config"]);
  config["num_classes"] = e.dim;
  config["class_names"] = nlohmann::json::array();
  meta["config"] = config.dump();
  meta["embedding"] = embedding_entry(e, classes);

  train::Trainer trainer(*model, *optimizer, task, loader, val_loader.get(),
                         {.epochs = o.epochs, .clip_grad_norm = o.clip_grad_norm});
  auto checkpoint = train::add_standard_callbacks(trainer, o, loader.num_batches(), meta);
  trainer.add_callback(std::make_shared<EpochLine>());
  trainer.on_message([](const std::string& s) { std::printf("%s\n", s.c_str()); });
  run_pausable(trainer);

  if (!val_loader) return;
  // The verification threshold of best accuracy on validation pairs, saved with each weights file.
  for (const std::string which : {"last", "best"}) {
    const std::string path = checkpoint->weights_path(which);
    train::Metadata m = train::load_weights(path, *model);
    const embed::EmbeddedSet s = embed::embed_loader(*model, *val_loader);
    const embed::Pairs pairs = embed::balanced_pairs(s.labels, e.val_pairs, /*seed=*/12345);
    const std::vector<double> dist = embed::pair_distances(s.embeddings, pairs);
    const double t = embed::best_accuracy_threshold(dist, pairs.same);
    m["embedding"] = embedding_entry(e, classes, t);
    train::save_weights(path, *model, m);
    std::printf("%s weights: validation pairs AUC %.4f, accuracy %.2f%% at threshold %.4f (%s)\n",
                which.c_str(), embed::verification_auc(dist, pairs.same),
                100 * embed::pair_accuracy(dist, pairs.same, t), t, path.c_str());
  }
}

}  // namespace convkit::cli
