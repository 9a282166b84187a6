// convkit eval: metrics and the confusion matrix of a trained model on a dataset split.
#include <cstdio>

#include "commands.h"
#include "convkit/detect/detector_file.h"
#include "convkit/infer/evaluate.h"
#include "embed_eval.h"
#include "ensemble.h"
#include "eval_classify.h"
#include "eval_detect.h"
#include "image_data.h"
#include "metadata_train.h"
#include "precision.h"

namespace convkit::cli {

namespace {
struct EvalArgs {
  ModelArgs model;
  std::string data, split = "test";
  ImageDataArgs images;
  RuntimeOptions runtime;
  PrecisionArgs precision;
  EmbedEvalArgs embed;                // --task embed (eval_embed.cpp)
  EvalExtrasArgs extras;              // --tta, --out, ... (eval_classify.cpp)
  std::vector<std::string> ensemble;  // more models averaged with the first (ensemble.h)
};

// --ensemble: each further model on the same data (its own standardization), then the members
// alone, their averaged probabilities and their majority vote.
void report_ensemble(const EvalArgs& a, const infer::ModelBundle& first_model,
                     const infer::Evaluation& first, const ModelData& first_data) {
  std::vector<Tensor> probs{first.probabilities};
  std::vector<std::string> paths{a.model.path};
  for (const std::string& path : a.ensemble) {
    ModelArgs m = a.model;
    m.path = path;
    infer::ModelBundle bundle = load_model_argument(m);
    const infer::SessionOptions o = session_options(a.precision, bundle, a.images);
    const infer::Session s(std::move(bundle), o);
    const infer::ModelBundle& b = s.bundle();
    CONVKIT_CHECK(b.num_classes == first_model.num_classes &&
                      (b.class_names.empty() || first_model.class_names.empty() ||
                       b.class_names == first_model.class_names),
                  "eval --ensemble ", path, ": its ", b.num_classes,
                  " classes are not the same as those of ", a.model.path, " (",
                  first_model.num_classes, "); an ensemble averages the same classes");
    const ModelData d = data_for_model(b, a.data, a.split, a.images);
    CONVKIT_CHECK(d.inputs->size() == first_data.inputs->size(), "eval --ensemble ", path,
                  ": reads ", d.inputs->size(), " examples from ", d.name, ", ", a.model.path,
                  " read ", first_data.inputs->size());
    probs.push_back(infer::evaluate(s, d.inputs, d.name, eval_options(a.extras)).probabilities);
    paths.push_back(path);
  }
  const EnsembleAccuracy e = ensemble_accuracy(probs, first.labels);
  std::printf("\nensemble of %zu models:\n", probs.size());
  for (size_t i = 0; i < paths.size(); ++i)
    std::printf("  %s: top-1 %.2f%%\n", paths[i].c_str(), 100 * e.members[i]);
  std::printf("single models: top-1 %.2f%% +- %.2f (mean +- std)\n", 100 * e.mean, 100 * e.std);
  std::printf("mean probabilities: top-1 %.2f%% (%+.2f points over the mean single model)\n",
              100 * e.averaged, 100 * (e.averaged - e.mean));
  std::printf("majority vote: top-1 %.2f%% (%+.2f points)\n", 100 * e.voted,
              100 * (e.voted - e.mean));
}

void run_eval(const EvalArgs& a) {
  apply_runtime_options(a.runtime);
  if (a.embed.task == "embed") return run_eval_embed(a.embed, a.model, a.data, a.images);
  if (detect::is_detector_file(a.model.path))
    return run_eval_detect(a.model.path, a.data, a.extras.out);
  if (is_metadata_checkpoint(a.model.path))
    return eval_with_metadata(a.model.path, a.data, a.images);
  infer::ModelBundle bundle = load_model_argument(a.model);
  const infer::SessionOptions o = session_options(a.precision, bundle, a.images);
  const infer::Session session(std::move(bundle), o);
  const infer::ModelBundle& m = session.bundle();
  CONVKIT_CHECK(!m.metadata.count("embedding"), a.model.path,
                " is an embedding model (its outputs are not classes); score it with "
                "`convkit eval --task embed`");
  const ModelData d = data_for_model(m, a.data, a.split, a.images);
  const infer::Evaluation r = infer::evaluate(session, d.inputs, d.name, eval_options(a.extras));
  std::printf("%s (%s) on %s, %lld images: loss %.4f, top-1 %.2f%%", a.model.path.c_str(),
              m.name.c_str(), d.name.c_str(), (long long)r.examples, r.loss, 100 * r.top1);
  // With 5 classes or fewer every label is in the top 5.
  if (d.inputs->num_classes() > 5) std::printf(", top-5 %.2f%%", 100 * r.top5);
  std::printf("\n\n");
  if (r.non_finite_rows > 0)
    std::fprintf(stderr,
                 "convkit: warning: the model's output is NaN or infinite for %lld of %lld "
                 "images (counted as wrong); its weights may have diverged\n",
                 (long long)r.non_finite_rows, (long long)r.examples);
  if (d.inputs->skipped_files() > 0)
    std::printf("%lld unusable files skipped (see the warnings)\n\n",
                (long long)d.inputs->skipped_files());
  const std::vector<std::string> names =
      m.class_names.empty() ? d.inputs->class_names() : m.class_names;
  std::printf("%s", r.confusion.to_string(names).c_str());
  report_eval_extras(a.extras, r, d, names, a.model.path);
  if (!a.ensemble.empty()) report_ensemble(a, m, r, d);
}
}  // namespace

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "Evaluate a trained model: loss, top-1/top-5, confusion matrix, per-class P/R/F1");
  add_model_argument(*cmd, a->model);
  cmd->add_option("--data", a->data,
                  "An image folder, a .csv list, or a directory with MNIST-layout IDX files "
                  "(default: Fashion-MNIST, for models trained on it)");
  cmd->add_option("--split", a->split, "test | train (IDX data)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  add_precision_options(*cmd, a->precision);
  add_embed_eval_options(*cmd, a->embed);
  add_eval_extras_options(*cmd, a->extras);
  cmd->add_option("--ensemble", a->ensemble,
                  "More models of the same classes (e.g. `convkit cv`'s fold_*/best.safetensors): "
                  "each one's top-1, then their averaged probabilities and majority vote");
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace convkit::cli
