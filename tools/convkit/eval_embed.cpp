// convkit eval --task embed: the unseen-class verification protocol (docs/similarity.md). The
// threshold is chosen on validation pairs of the classes the model was trained on (the same split
// as training: --val-fraction and --seed of the run), then applied to test pairs of those classes
// and of the classes it never saw; AUC, TAR@FAR and N-way one-shot accuracy beside it. An image
// folder or list is one set: its seen-class images are split the same way, the threshold chosen on
// one part and the seen-class test pairs drawn from the other, so no image is in both.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.h"
#include "convkit/embed/class_subset.h"
#include "convkit/embed/embedder.h"
#include "convkit/embed/verification.h"
#include "embed_eval.h"
#include "image_data.h"

namespace convkit::cli {

void add_embed_eval_options(CLI::App& cmd, EmbedEvalArgs& e) {
  cmd.add_option("--task", e.task, "classify | embed (verification protocol)")
      ->capture_default_str()
      ->check(CLI::IsMember({"classify", "embed"}));
  cmd.add_option("--seen-classes", e.seen,
                 "Classes the model was trained on (default: its metadata's train_classes)");
  cmd.add_option("--unseen-classes", e.unseen, "Classes to verify on (default: all the others)");
  cmd.add_option("--pairs", e.pairs, "Balanced test pairs per class group")->capture_default_str();
  cmd.add_option("--ways", e.ways, "Classes per one-shot episode")->capture_default_str();
  cmd.add_option("--episodes", e.episodes, "One-shot episodes")->capture_default_str();
  cmd.add_option("--far", e.far, "False-accept rate for TAR@FAR")->capture_default_str();
  cmd.add_option("--val-fraction", e.val_fraction,
                 "Validation fraction of the training run (the threshold's pairs come from it)")
      ->capture_default_str();
  cmd.add_option("--seed", e.seed, "Seed of the training run's split")->capture_default_str();
}

namespace {
struct Report {
  double auc = 0, accuracy = 0, tar = 0, one_shot = -1;
};

Report verify_group(const embed::EmbeddedSet& s, int64_t count, double threshold,
                    const EmbedEvalArgs& e, bool one_shot) {
  const embed::Pairs pairs = embed::balanced_pairs(s.labels, count, /*seed=*/e.seed + 7);
  const std::vector<double> d = embed::pair_distances(s.embeddings, pairs);
  Report r;
  r.auc = embed::verification_auc(d, pairs.same);
  r.accuracy = embed::pair_accuracy(d, pairs.same, threshold);
  r.tar = embed::tar_at_far(d, pairs.same, e.far);
  std::set<int64_t> classes(s.labels.begin(), s.labels.end());
  if (one_shot && int64_t(classes.size()) >= e.ways)
    r.one_shot = embed::one_shot_accuracy(s.embeddings, s.labels, e.ways, e.episodes, e.seed + 11);
  return r;
}

void print(const char* what, const Report& r, const EmbedEvalArgs& e) {
  std::printf("%-28s AUC %.4f  pairs %.2f%%  TAR@FAR=%g %.2f%%", what, r.auc, 100 * r.accuracy,
              e.far, 100 * r.tar);
  if (r.one_shot >= 0)
    std::printf("  %lld-way one-shot %.2f%%", (long long)e.ways, 100 * r.one_shot);
  std::printf("\n");
}
}  // namespace

void run_eval_embed(const EmbedEvalArgs& e, const ModelArgs& model, const std::string& data_dir,
                    const ImageDataArgs& images) {
  const embed::Embedder emb(load_model_argument(model));
  const infer::ModelBundle& m = emb.bundle();
  std::vector<int64_t> seen;
  if (!e.seen.empty()) {
    seen = embed::parse_class_list(e.seen);
  } else {
    const auto j = nlohmann::json::parse(m.metadata.at("embedding"));
    CONVKIT_CHECK(j.contains("train_classes") && j["train_classes"].is_array(), m.describe(),
                  ": its 'embedding' metadata does not list train_classes; pass --seen-classes");
    seen = j["train_classes"].get<std::vector<int64_t>>();
  }
  const ModelData train = data_for_model(m, data_dir, "train", images);
  const ModelData test = train.images ? train : data_for_model(m, data_dir, "test", images);
  std::vector<int64_t> unseen;
  if (!e.unseen.empty()) {
    unseen = embed::parse_class_list(e.unseen);
  } else {
    const std::set<int64_t> s(seen.begin(), seen.end());
    for (int64_t c = 0; c < test.inputs->num_classes(); ++c)
      if (!s.count(c)) unseen.push_back(c);
  }
  const auto split =
      data::train_val_split(embed::subset_of_classes(train.inputs, seen), e.val_fraction, e.seed);
  const auto& val = split.second;
  // IDX data has a test file; one image set gives its seen-class test pairs from what validation
  // did not take.
  const data::DatasetPtr seen_test =
      train.images ? split.first : embed::subset_of_classes(test.inputs, seen);
  if (train.images)
    std::printf(
        "%s is one set: %lld seen-class images choose the threshold, the other %lld are "
        "tested\n",
        data_dir.c_str(), (long long)val->size(), (long long)seen_test->size());
  CONVKIT_CHECK(val && val->size() > 1, "eval --task embed: no validation images (--val-fraction ",
                e.val_fraction, ")");
  const embed::EmbeddedSet val_set = emb.embed_dataset(*val);
  const embed::Pairs vp = embed::balanced_pairs(val_set.labels, e.pairs, e.seed + 5);
  const std::vector<double> vd = embed::pair_distances(val_set.embeddings, vp);
  const double threshold = embed::best_accuracy_threshold(vd, vp.same);
  std::printf("%s (%s), d=%lld: threshold %.4f chosen on %lld validation pairs of seen classes",
              model.path.c_str(), m.name.c_str(), (long long)emb.dim(), threshold,
              (long long)e.pairs);
  if (emb.threshold()) std::printf(" (saved with the model: %.4f)", *emb.threshold());
  std::printf("\n");
  print("seen classes, validation", verify_group(val_set, e.pairs, threshold, e, false), e);
  print("seen classes, test",
        verify_group(emb.embed_dataset(*seen_test), e.pairs, threshold, e, true), e);
  if (!unseen.empty())
    print("unseen classes, test",
          verify_group(emb.embed_dataset(*embed::subset_of_classes(test.inputs, unseen)), e.pairs,
                       threshold, e, true),
          e);
}

}  // namespace convkit::cli
