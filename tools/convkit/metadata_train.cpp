#include "metadata_train.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "convkit/data/metadata.h"
#include "convkit/models/image_metadata.h"
#include "convkit/models/registry.h"
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

void eval_with_metadata(const std::string& path, const std::string& list,
                        const ImageDataArgs& image_args) {
  const train::Metadata meta = train::read_metadata(path);
  const std::string image_model = meta.at("model").substr(std::string(kModelPrefix).size());
  CONVKIT_CHECK(meta.count("metadata_schema") && meta.count("config"), path,
                ": an image + metadata model without its 'metadata_schema' or 'config' metadata");
  CONVKIT_CHECK(std::filesystem::path(list).extension() == ".csv", "eval ", path,
                ": an image + metadata model reads its columns from a .csv list; --data ", list,
                " is not one");
  const data::MetadataSchema schema = data::MetadataSchema::from_json(meta.at("metadata_schema"));
  int64_t in_channels = 0, classes = 0, size = 0;
  std::vector<std::string> class_names;
  data::ImagePreprocessing prep;
  data::ChannelStats stats;
  try {
    const auto c = nlohmann::json::parse(meta.at("config"));
    in_channels = c.at("in_channels").get<int64_t>();
    classes = c.at("num_classes").get<int64_t>();
    size = c.at("image_size").get<int64_t>();
    class_names = c.value("class_names", std::vector<std::string>{});
    if (c.contains("preprocessing")) {
      prep = data::ImagePreprocessing::from_json(c["preprocessing"].dump());
    } else {
      prep.image_size = size;
      prep.color = in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
    }
    if (c.contains("normalization")) {
      stats.mean = c["normalization"].at("mean").get<std::vector<double>>();
      stats.std = c["normalization"].at("std").get<std::vector<double>>();
    }
  } catch (const std::exception& e) {
    throw Error(detail::concat(path, ": malformed 'config' metadata: ", e.what()));
  }
  const auto net = metadata_net(image_model, {in_channels, size, size}, classes, schema);
  train::load_weights(path, *net);

  auto images = open_image_data(list, prep, image_args, class_names);
  CONVKIT_CHECK(images->num_classes() == classes, "eval ", path, ": the model has ", classes,
                " classes, ", list, " has ", images->num_classes());
  data::DatasetPtr inputs = images;
  if (!stats.mean.empty()) inputs = std::make_shared<data::Normalized>(images, stats);
  auto set = std::make_shared<data::WithMetadata>(
      inputs, data::read_metadata(list, schema.columns, *images), schema);
  data::DataLoader loader(set, {.batch_size = 256, .shuffle = false});
  train::MultiInputClassificationTask task(classes, {"numeric", "categorical"});
  const train::Logs r = task.evaluate(*net, loader);
  std::printf("%s (%s + %lld metadata columns) on %s, %lld images: loss %.4f, top-1 %.2f%%",
              path.c_str(), image_model.c_str(), (long long)schema.columns.size(), list.c_str(),
              (long long)set->size(), r.at("loss"), 100 * r.at("acc"));
  if (classes > 5) std::printf(", top-5 %.2f%%", 100 * r.at("top5"));
  std::printf("\n");
}

}  // namespace convkit::cli
