#include "metadata_train.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "convkit/data/metadata.h"
#include "convkit/infer/session.h"
#include "convkit/models/image_metadata.h"
#include "convkit/models/registry.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/multi_input.h"
#include "progress.h"

namespace convkit::cli {

namespace {
// Width of the image branch's output (the registry model built with this many "classes").
constexpr int64_t kImageFeatures = 32;
constexpr const char* kModelPrefix = "image_metadata:";

std::shared_ptr<models::ImageMetadataNet> metadata_net(const std::string& image_model,
                                                       const Shape& example, int64_t classes,
                                                       const data::MetadataSchema& schema) {
  return std::make_shared<models::ImageMetadataNet>(
      models::create_model(image_model, {example[0], kImageFeatures, example[1]}), kImageFeatures,
      models::ImageMetadataOptions{.num_classes = classes,
                                   .numeric = schema.num_numeric(),
                                   .vocab_sizes = schema.vocab_sizes()});
}
}  // namespace

void train_with_metadata(const train::TrainOptions& o, const std::string& columns,
                         const std::string& list, std::shared_ptr<data::ImageDataset> images,
                         const std::string& test_list, std::shared_ptr<data::ImageDataset> test,
                         const std::string& progress) {
  const std::vector<data::MetadataColumn> cols = data::parse_metadata_columns(columns);
  const data::MetadataValues values = data::read_metadata(list, cols, *images);
  auto [train_part, val_part] = data::train_val_split(images, o.val_fraction, o.seed);
  // The schema comes from the training rows only (Subset indices are the image set's).
  const data::MetadataSchema schema =
      data::fit_metadata(values, static_cast<const data::Subset&>(*train_part).indices());
  auto full = std::make_shared<data::WithMetadata>(images, values, schema);
  auto split = [&](const data::DatasetPtr& part) -> data::DatasetPtr {
    if (!part || part->size() == 0) return nullptr;
    return std::make_shared<data::Subset>(full, static_cast<const data::Subset&>(*part).indices());
  };
  const data::DatasetPtr train = split(train_part), val = split(val_part);
  data::DatasetPtr test_set;
  if (test)
    test_set = std::make_shared<data::WithMetadata>(
        test, data::read_metadata(test_list, cols, *test), schema);
  std::printf("metadata: %lld numeric, %lld categorical columns (%s)\n",
              (long long)schema.num_numeric(), (long long)schema.num_categorical(),
              columns.c_str());

  manual_seed(o.seed);
  const Shape ex = images->example_shape();
  const auto net = metadata_net(o.model, ex, images->num_classes(), schema);
  models::ImageMetadataNet& model = *net;
  auto optimizer = train::make_optimizer(train::make_param_groups(model, o), o);
  train::MultiInputClassificationTask task(images->num_classes(), {"numeric", "categorical"});
  data::DataLoader loader(
      train, {.batch_size = o.batch_size, .seed = o.seed, .workers = o.loader_workers});
  std::unique_ptr<data::DataLoader> val_loader;
  if (val)
    val_loader = std::make_unique<data::DataLoader>(
        val, data::LoaderOptions{.batch_size = 256, .shuffle = false});
  train::Trainer trainer(model, *optimizer, task, loader, val_loader.get(),
                         {.epochs = o.epochs, .clip_grad_norm = o.clip_grad_norm});
  train::Metadata meta = train::run_metadata(o, *images);
  meta["model"] = kModelPrefix + o.model;
  meta["metadata_schema"] = schema.to_json();
  auto checkpoint = train::add_standard_callbacks(trainer, o, loader.num_batches(), meta);
  trainer.add_callback(std::make_shared<Progress>(progress));
  trainer.on_message([](const std::string& s) { std::printf("%s\n", s.c_str()); });
  trainer.run();
  if (val) std::printf("validation: best top-1 accuracy %.2f%%\n", 100 * trainer.best_metric());
  if (test_set) {
    data::DataLoader test_loader(test_set, {.batch_size = 256, .shuffle = false});
    std::printf("test (last weights): top-1 accuracy %.2f%%\n",
                100 * task.evaluate(model, test_loader).at("acc"));
  }
  std::printf("weights: %s (metadata schema in its metadata)\n",
              checkpoint->weights_path("last").c_str());
}

bool is_metadata_checkpoint(const std::string& path) {
  if (std::filesystem::path(path).extension() != ".safetensors") return false;
  try {
    const train::Metadata meta = train::read_metadata(path);
    auto model = meta.find("model");
    return model != meta.end() && model->second.rfind(kModelPrefix, 0) == 0;
  } catch (const Error&) {
    return false;
  }
}

namespace {
// A checkpoint of `train --metadata-columns`, rebuilt and loaded, with how its inputs were made.
struct MetadataModel {
  std::string image_model;
  std::shared_ptr<models::ImageMetadataNet> net;
  data::MetadataSchema schema;
  int64_t classes = 0;
  std::vector<std::string> class_names;
  data::ImagePreprocessing prep;
  data::ChannelStats stats;
};

MetadataModel load_metadata_model(const std::string& path) {
  const train::Metadata meta = train::read_metadata(path);
  MetadataModel m;
  m.image_model = meta.at("model").substr(std::string(kModelPrefix).size());
  CONVKIT_CHECK(meta.count("metadata_schema") && meta.count("config"), path,
                ": an image + metadata model without its 'metadata_schema' or 'config' metadata");
  m.schema = data::MetadataSchema::from_json(meta.at("metadata_schema"));
  int64_t in_channels = 0, size = 0;
  try {
    const auto c = nlohmann::json::parse(meta.at("config"));
    in_channels = c.at("in_channels").get<int64_t>();
    m.classes = c.at("num_classes").get<int64_t>();
    size = c.at("image_size").get<int64_t>();
    m.class_names = c.value("class_names", std::vector<std::string>{});
    if (c.contains("preprocessing")) {
      m.prep = data::ImagePreprocessing::from_json(c["preprocessing"].dump());
    } else {
      m.prep.image_size = size;
      m.prep.color = in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
    }
    if (c.contains("normalization")) {
      m.stats.mean = c["normalization"].at("mean").get<std::vector<double>>();
      m.stats.std = c["normalization"].at("std").get<std::vector<double>>();
    }
  } catch (const std::exception& e) {
    throw Error(detail::concat(path, ": malformed 'config' metadata: ", e.what()));
  }
  m.net = metadata_net(m.image_model, {in_channels, size, size}, m.classes, m.schema);
  train::load_weights(path, *m.net);
  return m;
}

// The rows of `list` as the model's inputs: images prepared and standardized as in training, the
// columns standardized / indexed by its schema.
std::shared_ptr<data::WithMetadata> metadata_rows(const MetadataModel& m, const std::string& path,
                                                  const std::string& list,
                                                  const ImageDataArgs& image_args,
                                                  std::shared_ptr<data::ImageDataset>* images_out) {
  CONVKIT_CHECK(std::filesystem::path(list).extension() == ".csv", path,
                ": an image + metadata model reads its columns from a .csv list; --data ", list,
                " is not one");
  auto images = open_image_data(list, m.prep, image_args, m.class_names);
  CONVKIT_CHECK(images->num_classes() == m.classes, path, ": the model has ", m.classes,
                " classes, ", list, " has ", images->num_classes());
  data::DatasetPtr inputs = images;
  if (!m.stats.mean.empty()) inputs = std::make_shared<data::Normalized>(images, m.stats);
  if (images_out) *images_out = images;
  return std::make_shared<data::WithMetadata>(
      inputs, data::read_metadata(list, m.schema.columns, *images), m.schema);
}
}  // namespace

void eval_with_metadata(const std::string& path, const std::string& list,
                        const ImageDataArgs& image_args) {
  const MetadataModel m = load_metadata_model(path);
  const auto set = metadata_rows(m, path, list, image_args, nullptr);
  data::DataLoader loader(set, {.batch_size = 256, .shuffle = false});
  train::MultiInputClassificationTask task(m.classes, {"numeric", "categorical"});
  const train::Logs r = task.evaluate(*m.net, loader);
  std::printf("%s (%s + %lld metadata columns) on %s, %lld images: loss %.4f, top-1 %.2f%%",
              path.c_str(), m.image_model.c_str(), (long long)m.schema.columns.size(), list.c_str(),
              (long long)set->size(), r.at("loss"), 100 * r.at("acc"));
  if (m.classes > 5) std::printf(", top-5 %.2f%%", 100 * r.at("top5"));
  std::printf("\n");
}

void predict_with_metadata(const std::string& path, const std::string& list,
                           const std::vector<int64_t>& rows, int64_t k,
                           const ImageDataArgs& image_args) {
  const MetadataModel m = load_metadata_model(path);
  std::shared_ptr<data::ImageDataset> images;
  const auto set = metadata_rows(m, path, list, image_args, &images);
  std::vector<int64_t> pick = rows;
  if (pick.empty()) {
    pick.resize(size_t(set->size()));
    std::iota(pick.begin(), pick.end(), int64_t(0));
  }
  for (int64_t i : pick)
    CONVKIT_CHECK(i >= 0 && i < set->size(), "predict: --index ", i, " is outside ", list, " (",
                  set->size(), " rows with usable images)");
  const auto names = m.class_names.empty() ? images->class_names() : m.class_names;
  m.net->eval();
  NoGradGuard no_grad;
  train::MultiInputClassificationTask task(m.classes, {"numeric", "categorical"});
  for (size_t at = 0; at < pick.size(); at += 256) {
    const std::vector<int64_t> part(pick.begin() + at,
                                    pick.begin() + std::min(pick.size(), at + 256));
    const data::Batch b = set->get_batch(part);
    const Tensor probs = softmax((*m.net)(task.inputs(b)).at(0), 1);
    const auto top = infer::top_k(probs, k, names);
    for (size_t i = 0; i < part.size(); ++i) {
      std::printf("%s (true: %s):", images->entry(part[i]).path.c_str(),
                  names.at(size_t(b.labels.data<int64_t>()[i])).c_str());
      if (top[i].empty()) std::printf("  no prediction (the output is NaN or infinite)");
      for (const infer::Prediction& p : top[i])
        std::printf("  %s %.2f%%", p.name.c_str(), 100 * p.probability);
      std::printf("\n");
    }
  }
}

}  // namespace convkit::cli
