// convkit eval: metrics and the confusion matrix of saved weights on a dataset split.
#include <cstdio>

#include "commands.h"
#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/trainer.h"
#include "image_data.h"

namespace convkit::cli {

namespace {
struct EvalArgs {
  std::string weights, data = data::kFashionMnistDir, split = "test";
  ImageDataArgs images;
  RuntimeOptions runtime;
};

void run_eval(const EvalArgs& a) {
  apply_runtime_options(a.runtime);
  train::LoadedModel m = load_model_file(a.weights);
  const bool images = is_image_data(a.data);
  data::DatasetPtr ds = images ? image_data_for_model(m, a.data, a.images).inputs
                               : dataset_for_model(m, a.data, a.split);
  data::DataLoader loader(ds, {.batch_size = 256, .shuffle = false});
  train::EvalResult r = train::evaluate(*m.model, loader, ds->num_classes());
  std::printf("%s (%s) on %s%s%s, %lld images: loss %.4f, top-1 %.2f%%, top-5 %.2f%%\n\n",
              a.weights.c_str(), m.name.c_str(), a.data.c_str(), images ? "" : "/",
              images ? "" : a.split.c_str(), (long long)ds->size(), r.loss, 100 * r.top1,
              100 * r.top5);
  if (ds->skipped_files() > 0)
    std::printf("%lld unusable files skipped (see the warnings)\n\n",
                (long long)ds->skipped_files());
  std::printf(
      "%s",
      r.confusion.to_string(m.class_names.empty() ? ds->class_names() : m.class_names).c_str());
}
}  // namespace

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "Evaluate saved weights: loss, top-1/top-5, confusion matrix, per-class P/R/F1");
  cmd->add_option("weights", a->weights,
                  "Weights file written by `convkit train`, or an .onnx file")
      ->required();
  cmd->add_option("--data", a->data,
                  "Directory with MNIST-layout IDX files, an image folder or a .csv list")
      ->capture_default_str();
  cmd->add_option("--split", a->split, "test | train (IDX data)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace convkit::cli
