// convkit predict: top-k classes with probabilities for image files or dataset examples.
#include <algorithm>
#include <cstdio>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/ops/activation.h"
#include "convkit/train/checkpoint.h"
#include "image_data.h"

namespace convkit::cli {

namespace {
struct PredictArgs {
  std::string weights, data = data::kFashionMnistDir, split = "test";
  std::vector<std::string> files;
  std::vector<int64_t> indices;
  int64_t top_k = 3;
  ImageDataArgs images;
  RuntimeOptions runtime;
};

// Prints "<what>:  name p%  name p% ..." for each row of `inputs` (already standardized).
void print_top_k(nn::Module& model, const Tensor& inputs, const std::vector<std::string>& what,
                 const std::vector<std::string>& names, int64_t top_k) {
  NoGradGuard no_grad;
  Tensor probs = softmax(model(inputs), 1);
  const int64_t c = probs.size(1), k = std::min(top_k, c);
  auto name = [&](int64_t j) {
    return size_t(j) < names.size() ? names[size_t(j)] : std::to_string(j);
  };
  for (size_t i = 0; i < what.size(); ++i) {
    std::vector<std::pair<double, int64_t>> row;
    for (int64_t j = 0; j < c; ++j) row.push_back({probs.at({int64_t(i), j}), j});
    std::partial_sort(row.begin(), row.begin() + k, row.end(), [](auto& x, auto& y) {
      return x.first > y.first || (x.first == y.first && x.second < y.second);
    });
    std::printf("%s:", what[i].c_str());
    for (int64_t j = 0; j < k; ++j)
      std::printf("  %s %.2f%%", name(row[j].second).c_str(), 100 * row[j].first);
    std::printf("\n");
  }
}

// Image files, prepared as in training. An unreadable file is reported and left out; the command
// fails at the end (or at once with --strict) so that scripts notice.
void predict_files(const train::LoadedModel& m, const PredictArgs& a) {
  const data::ImagePreprocessing prep = preprocessing_of(m);
  std::vector<Tensor> inputs;
  std::vector<std::string> good;
  int64_t failed = 0;
  for (const std::string& f : a.files) {
    try {
      inputs.push_back(data::load_input_image(f, prep, a.images.max_pixels));
      good.push_back(f);
    } catch (const data::ImageFileError& e) {
      if (a.images.strict) throw;
      std::fprintf(stderr, "convkit: warning: %s; skipped\n", e.what());
      ++failed;
    }
  }
  if (!good.empty()) {
    const Shape ex = inputs[0].shape();
    Tensor batch = Tensor::empty({int64_t(good.size()), ex[0], ex[1], ex[2]});
    for (size_t i = 0; i < good.size(); ++i) batch.select(int64_t(i)).copy_(inputs[i]);
    // The saved standardization, through the same dataset wrapper training used.
    data::DatasetPtr ds = std::make_shared<data::TensorDataset>(
        batch, Tensor::zeros({int64_t(good.size())}, DType::i64), m.num_classes);
    if (!m.norm_mean.empty())
      ds = std::make_shared<data::Normalized>(ds, data::ChannelStats{m.norm_mean, m.norm_std});
    std::vector<int64_t> all(good.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
    print_top_k(*m.model, ds->get_batch(all).inputs, good, m.class_names, a.top_k);
  }
  CONVKIT_CHECK(failed == 0, "predict: ", failed, " of ", a.files.size(),
                " files could not be used (see the warnings)");
}

void predict_indices(const train::LoadedModel& m, const PredictArgs& a) {
  const bool images = is_image_data(a.data);
  ModelImageData image_data;
  data::DatasetPtr ds = images ? (image_data = image_data_for_model(m, a.data, a.images)).inputs
                               : dataset_for_model(m, a.data, a.split);
  auto names = m.class_names.empty() ? ds->class_names() : m.class_names;
  data::Batch b = ds->get_batch(a.indices);
  std::vector<std::string> what;
  for (size_t i = 0; i < a.indices.size(); ++i) {
    const int64_t truth = b.labels.data<int64_t>()[i];
    const std::string where = images ? image_data.images->entry(a.indices[i]).path
                                     : a.split + "[" + std::to_string(a.indices[i]) + "]";
    what.push_back(where + " (true: " + names.at(size_t(truth)) + ")");
  }
  print_top_k(*m.model, b.inputs, what, names, a.top_k);
}

void run_predict(const PredictArgs& a) {
  apply_runtime_options(a.runtime);
  CONVKIT_CHECK(
      !a.files.empty() || !a.indices.empty(),
      "predict: give image files (convkit predict WEIGHTS IMAGE...) or --index with --data");
  train::LoadedModel m = load_model_file(a.weights);
  m.model->eval();
  if (!a.files.empty()) predict_files(m, a);
  if (!a.indices.empty()) predict_indices(m, a);
}
}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict", "Top-k classes with probabilities for image files or dataset examples");
  cmd->add_option("weights", a->weights,
                  "Weights file written by `convkit train`, or an .onnx file")
      ->required();
  cmd->add_option("images", a->files, "Image files (resized and standardized as in training)");
  cmd->add_option("--index,-i", a->indices, "Example indices in --data (its --split for IDX data)");
  cmd->add_option("--top-k,-k", a->top_k, "Classes to show per example")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--data", a->data,
                  "Directory with MNIST-layout IDX files, an image folder or a .csv list")
      ->capture_default_str();
  cmd->add_option("--split", a->split, "test | train (IDX data)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace convkit::cli
