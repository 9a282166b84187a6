// convkit predict: top-k classes with probabilities for image files or dataset examples.
#include <cstdio>

#include "commands.h"
#include "convkit/infer/preprocess.h"
#include "convkit/infer/session.h"
#include "image_data.h"
#include "metadata_train.h"
#include "precision.h"

namespace convkit::cli {

namespace {
struct PredictArgs {
  ModelArgs model;
  std::string data, split = "test";
  std::vector<std::string> files;
  std::vector<int64_t> indices;
  int64_t top_k = 3;
  ImageDataArgs images;
  RuntimeOptions runtime;
  PrecisionArgs precision;
};

// Prints "<what>:  name p%  name p% ..." per row of `inputs` (standardized); a row whose output is
// not finite gets a note instead of "-nan%", and a warning counts them.
void print_top_k(const infer::Session& s, const Tensor& inputs,
                 const std::vector<std::string>& what, int64_t k) {
  const auto rows = s.classify(inputs, k);
  int64_t bad = 0;
  for (size_t i = 0; i < what.size(); ++i) {
    std::printf("%s:", what[i].c_str());
    if (rows[i].empty()) ++bad, std::printf("  no prediction (the output is NaN or infinite)");
    for (const infer::Prediction& p : rows[i])
      std::printf("  %s %.2f%%", p.name.c_str(), 100 * p.probability);
    std::printf("\n");
  }
  if (bad > 0)
    std::fprintf(stderr,
                 "convkit: warning: the model's output is NaN or infinite for %lld of %zu inputs; "
                 "its weights may have diverged\n",
                 (long long)bad, what.size());
}

// Image files, prepared as in training. An unusable file is reported and left out; the command
// fails at the end (or at once with --strict) so that scripts notice.
void predict_files(const infer::Session& s, const PredictArgs& a) {
  std::vector<Tensor> inputs;
  std::vector<std::string> good;
  for (const std::string& f : a.files) {
    try {
      inputs.push_back(infer::preprocess_file(s.bundle(), f, a.images.max_pixels));
      good.push_back(f);
    } catch (const data::ImageFileError& e) {
      if (a.images.strict) throw;
      std::fprintf(stderr, "convkit: warning: %s; skipped\n", e.what());
    }
  }
  if (!good.empty()) {
    try {
      print_top_k(s, infer::stack_inputs(inputs), good, a.top_k);
    } catch (const Error& e) {
      std::string files;
      for (const std::string& f : good) files += (files.empty() ? "" : ", ") + f;
      throw Error("predict: " + files + ": " + e.what());
    }
  }
  CONVKIT_CHECK(good.size() == a.files.size(), "predict: ", a.files.size() - good.size(), " of ",
                a.files.size(), " files could not be used (see the warnings)");
}

void predict_indices(const infer::Session& s, const PredictArgs& a) {
  const ModelData d = data_for_model(s.bundle(), a.data, a.split, a.images);
  const auto names =
      s.bundle().class_names.empty() ? d.inputs->class_names() : s.bundle().class_names;
  for (int64_t i : a.indices)
    CONVKIT_CHECK(i >= 0 && i < d.inputs->size(), "predict: --index ", i, " is outside ", d.name,
                  " (", d.inputs->size(), " examples)");
  data::Batch b = d.inputs->get_batch(a.indices);
  std::vector<std::string> what;
  for (size_t i = 0; i < a.indices.size(); ++i) {
    const int64_t truth = b.labels.data<int64_t>()[i];
    what.push_back((d.images ? d.images->entry(a.indices[i]).path
                             : d.name + "[" + std::to_string(a.indices[i]) + "]") +
                   " (true: " + names.at(size_t(truth)) + ")");
  }
  print_top_k(s, b.inputs, what, a.top_k);
}

void run_predict(const PredictArgs& a) {
  apply_runtime_options(a.runtime);
  CONVKIT_CHECK(
      !a.files.empty() || !a.indices.empty(),
      "predict: give image files (convkit predict MODEL IMAGE...) or --index with --data");
  if (is_metadata_checkpoint(a.model.path)) {
    CONVKIT_CHECK(a.files.empty() && !a.data.empty(), "predict ", a.model.path,
                  ": an image + metadata model needs each image's columns; give the rows of a "
                  ".csv list (--data LIST.csv --index ROW...)");
    return predict_with_metadata(a.model.path, a.data, a.indices, a.top_k, a.images);
  }
  infer::ModelBundle bundle = load_model_argument(a.model);
  const infer::SessionOptions o = session_options(a.precision, bundle, a.images);
  const infer::Session session(std::move(bundle), o);
  if (!a.files.empty()) predict_files(session, a);
  if (!a.indices.empty()) predict_indices(session, a);
}
}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict", "Top-k classes with probabilities for image files or dataset examples");
  add_model_argument(*cmd, a->model);
  cmd->add_option("images", a->files, "Image files (resized and standardized as in training)");
  cmd->add_option("--index,-i", a->indices, "Example indices in --data (its --split for IDX data)");
  cmd->add_option("--top-k,-k", a->top_k, "Classes to show per example")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--data", a->data,
                  "An image folder, a .csv list, or a directory with MNIST-layout IDX files "
                  "(default: Fashion-MNIST, for models trained on it)");
  cmd->add_option("--split", a->split, "test | train (IDX data)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  add_precision_options(*cmd, a->precision);
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace convkit::cli
