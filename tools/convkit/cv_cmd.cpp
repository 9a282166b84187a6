// convkit cv: k-fold cross-validation. Each fold trains a model with `convkit train --fold K/N`
// (every other train option passes through), validating on its fold; then the K best models give
// out-of-fold predictions for the whole training set, per-fold and mean +- std test accuracy, and
// the test accuracy of their ensemble by averaged probabilities and by majority vote
// (docs/evaluation.md). An interrupted cv resumes fold by fold when run again.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "convkit/data/idx.h"
#include "convkit/infer/evaluate.h"
#include "convkit/ops/elementwise.h"
#include "ensemble.h"
#include "eval_classify.h"
#include "image_data.h"
#include "output_files.h"

namespace convkit::cli {

namespace fs = std::filesystem;

namespace {
struct CvArgs {
  int64_t folds = 5;
  std::string data = data::kFashionMnistDir, test_data, out = "runs/cv";
  uint64_t seed = 1;
  ImageDataArgs images;
  RuntimeOptions runtime;
  std::vector<std::string> train_args;  // passed to `convkit train` unchanged
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

infer::EvalOptions keeping_probabilities() {
  infer::EvalOptions o;
  o.keep_probabilities = true;
  return o;
}

void train_fold(const CvArgs& a, int64_t k, const std::string& dir) {
  std::ostringstream cmd;
  cmd << quote(fs::read_symlink("/proc/self/exe").string()) << " train";
  for (const std::string& s : a.train_args) cmd << " " << quote(s);
  cmd << " --data " << quote(a.data) << " --seed " << a.seed << " --fold " << k << "/" << a.folds
      << " --out " << quote(dir);
  if (!a.test_data.empty()) cmd << " --test-data " << quote(a.test_data);
  if (fs::exists(dir + "/train_state.safetensors")) cmd << " --resume";  // an earlier cv stopped
  std::printf("\n== fold %lld of %lld ==\n", (long long)k + 1, (long long)a.folds);
  std::fflush(stdout);
  const int status = std::system(cmd.str().c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 130) {
    std::printf("cv paused in fold %lld; run the same command again to continue\n",
                (long long)k + 1);
    std::fflush(stdout);
    throw CLI::RuntimeError(130);
  }
  if (code != 0)
    throw Error("cv: training fold " + std::to_string(k + 1) + " failed (exit status " +
                std::to_string(code) + "); its output is above. The command was: " + cmd.str());
}

void run_cv(const CvArgs& a) {
  apply_runtime_options(a.runtime);
  for (const std::string& s : a.train_args)
    CONVKIT_CHECK(s.rfind("--fold", 0) != 0 && s.rfind("--val-fraction", 0) != 0 &&
                      s.rfind("--val-split", 0) != 0 && s.rfind("--out", 0) != 0 && s != "-o" &&
                      s.rfind("--resume", 0) != 0 && s.rfind("--task", 0) != 0,
                  "cv: ", s, " is set by cv itself (each fold validates on its fold, in --out ",
                  a.out, "/fold_K); drop it");
  make_output_dir(a.out, "cv");
  for (int64_t k = 0; k < a.folds; ++k) train_fold(a, k, a.out + "/fold_" + std::to_string(k + 1));

  std::printf("\n== cross-validation: %lld folds ==\n", (long long)a.folds);
  std::vector<double> fold_test;
  Tensor oof_probs, oof_labels, test_labels;
  std::vector<int64_t> oof_fold;
  std::vector<Tensor> test_probs;
  std::vector<std::string> names;
  nlohmann::json j = {{"folds", a.folds}, {"seed", a.seed}, {"data", a.data}, {"per_fold", {}}};
  for (int64_t k = 0; k < a.folds; ++k) {
    ModelArgs model;
    model.path = a.out + "/fold_" + std::to_string(k + 1) + "/best.safetensors";
    const infer::Session session(load_model_argument(model));
    const infer::ModelBundle& m = session.bundle();
    // The fold's examples of the training data, standardized as this model's training did.
    const ModelData full = data_for_model(m, a.data, "train", a.images);
    const auto folds = data::stratified_folds(full.inputs->labels(), a.folds, a.seed);
    auto fold = std::make_shared<data::Subset>(full.inputs, folds[size_t(k)]);
    const infer::Evaluation v = infer::evaluate(
        session, fold, full.name + " fold " + std::to_string(k + 1), keeping_probabilities());
    if (!oof_probs.defined()) {
      names = m.class_names.empty() ? full.inputs->class_names() : m.class_names;
      oof_probs = Tensor::full({full.inputs->size(), v.probabilities.size(1)}, NAN);
      oof_labels = Tensor::from_vector(full.inputs->labels(), {full.inputs->size()});
      oof_fold.assign(size_t(full.inputs->size()), -1);
    }
    const int64_t c = v.probabilities.size(1);
    for (size_t i = 0; i < folds[size_t(k)].size(); ++i) {
      const int64_t row = folds[size_t(k)][i];
      std::copy_n(v.probabilities.data<float>() + int64_t(i) * c, c,
                  oof_probs.data<float>() + row * c);
      oof_fold[size_t(row)] = k;
    }
    nlohmann::json fj = {{"fold", k + 1}, {"validation_top1", v.top1}, {"model", model.path}};
    std::printf("fold %lld: out-of-fold top-1 %.2f%%", (long long)k + 1, 100 * v.top1);
    const bool has_test = is_image_data(a.data) ? !a.test_data.empty() : true;
    if (has_test) {
      const ModelData test =
          data_for_model(m, is_image_data(a.data) ? a.test_data : a.data, "test", a.images);
      const infer::Evaluation t =
          infer::evaluate(session, test.inputs, test.name, keeping_probabilities());
      std::printf(", test top-1 %.2f%%", 100 * t.top1);
      fold_test.push_back(t.top1);
      fj["test_top1"] = t.top1;
      test_probs.push_back(t.probabilities);
      test_labels = t.labels;
    }
    std::printf("\n");
    j["per_fold"].push_back(fj);
  }
  const double oof = accuracy(predictions(oof_probs), oof_labels);
  std::printf("out-of-fold: top-1 %.2f%% over the %lld training images\n", 100 * oof,
              (long long)oof_labels.numel());
  j["out_of_fold_top1"] = oof;
  if (!fold_test.empty()) {
    const EnsembleAccuracy e = ensemble_accuracy(test_probs, test_labels);
    const double mean = e.mean, sd = e.std, avg = e.averaged, voted = e.voted;
    std::printf("single models: test top-1 %.2f%% +- %.2f (mean +- std over %zu folds)\n",
                100 * mean, 100 * sd, fold_test.size());
    std::printf(
        "ensemble of %lld, mean probabilities: test top-1 %.2f%% (%+.2f points over the "
        "mean single model)\n",
        (long long)a.folds, 100 * avg, 100 * (avg - mean));
    std::printf("ensemble of %lld, majority vote: test top-1 %.2f%% (%+.2f points)\n",
                (long long)a.folds, 100 * voted, 100 * (voted - mean));
    j["test_top1_mean"] = mean;
    j["test_top1_std"] = sd;
    j["ensemble_mean_probabilities_top1"] = avg;
    j["ensemble_vote_top1"] = voted;
  }
  std::ostringstream csv;
  csv << "index,fold,true,predicted,confidence\n";
  const std::vector<int64_t> oof_pred = predictions(oof_probs);
  const int64_t c = oof_probs.size(1);
  for (int64_t i = 0; i < oof_labels.numel(); ++i) {
    const int64_t p = oof_pred[size_t(i)];
    csv << i << "," << oof_fold[size_t(i)] + 1 << ","
        << names[size_t(oof_labels.data<int64_t>()[i])] << "," << (p >= 0 ? names[size_t(p)] : "")
        << "," << (p >= 0 ? oof_probs.data<float>()[i * c + p] : NAN) << "\n";
  }
  write_text_file(a.out + "/oof_predictions.csv", csv.str());
  write_text_file(a.out + "/cv.json", j.dump(1) + "\n");
  std::printf(
      "wrote %s/cv.json and %s/oof_predictions.csv; the fold models are %s/fold_K/"
      "best.safetensors\n",
      a.out.c_str(), a.out.c_str(), a.out.c_str());
}
}  // namespace

void add_cv(CLI::App& app) {
  auto a = std::make_shared<CvArgs>();
  auto* cmd = app.add_subcommand(
      "cv",
      "K-fold cross-validation: a model per stratified fold (train options pass through), "
      "out-of-fold predictions, mean +- std test accuracy, and the K models as an ensemble");
  cmd->add_option("--folds,-k", a->folds, "Number of folds")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  cmd->add_option("--data", a->data, "Training data (IDX folder, image folder or .csv list)")
      ->capture_default_str();
  cmd->add_option("--test-data", a->test_data, "Test set for image data (IDX: its test split)");
  cmd->add_option("--out,-o", a->out, "Output folder: fold_1 ... fold_K, cv.json")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the folds and of every fold's training")
      ->capture_default_str();
  add_runtime_options(*cmd, a->runtime);
  cmd->allow_extras();  // the rest is `convkit train`'s
  cmd->footer(
      "Every other option goes to `convkit train` for each fold, e.g.\n"
      "  convkit cv --folds 5 --out runs/cv --model resnet20 --epochs 10 --lr 0.1");
  cmd->callback([a, cmd] {
    a->train_args = cmd->remaining();
    run_cv(*a);
  });
}

}  // namespace convkit::cli
