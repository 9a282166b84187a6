// convkit predict: top-k classes with probabilities for dataset examples.
#include <cstdio>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/ops/activation.h"
#include "convkit/train/checkpoint.h"

namespace convkit::cli {

namespace {
struct PredictArgs {
  std::string weights, data = data::kFashionMnistDir, split = "test";
  std::vector<int64_t> indices;
  int64_t top_k = 3;
  RuntimeOptions runtime;
};

void run_predict(const PredictArgs& a) {
  apply_runtime_options(a.runtime);
  train::LoadedModel m = load_model_file(a.weights);
  m.model->eval();
  data::DatasetPtr ds = dataset_for_model(m, a.data, a.split);
  auto names = m.class_names.empty() ? ds->class_names() : m.class_names;
  data::Batch b = ds->get_batch(a.indices);
  NoGradGuard no_grad;
  Tensor probs = softmax((*m.model)(b.inputs), 1);
  const int64_t c = probs.size(1), k = std::min(a.top_k, c);
  for (size_t i = 0; i < a.indices.size(); ++i) {
    std::vector<std::pair<double, int64_t>> row;
    for (int64_t j = 0; j < c; ++j) row.push_back({probs.at({int64_t(i), j}), j});
    std::partial_sort(row.begin(), row.begin() + k, row.end(),
                      [](auto& x, auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
    int64_t truth = b.labels.data<int64_t>()[i];
    std::printf("%s[%lld] (true: %s):", a.split.c_str(), (long long)a.indices[i],
                names.at(size_t(truth)).c_str());
    for (int64_t j = 0; j < k; ++j)
      std::printf("  %s %.2f%%", names.at(size_t(row[j].second)).c_str(), 100 * row[j].first);
    std::printf("\n");
  }
}
}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Top-k classes with probabilities for dataset examples");
  cmd->add_option("weights", a->weights, "Weights file written by `convkit train`, or an .onnx file")->required();
  cmd->add_option("--index,-i", a->indices, "Example indices in the split")->required();
  cmd->add_option("--top-k,-k", a->top_k, "Classes to show per example")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--data", a->data, "Directory with MNIST-layout IDX files")->capture_default_str();
  cmd->add_option("--split", a->split, "test | train")->capture_default_str()->check(CLI::IsMember({"test", "train"}));
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace convkit::cli
