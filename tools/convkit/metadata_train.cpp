#include "metadata_train.h"

#include <cstdio>
#include <numeric>

#include "convkit/data/metadata.h"
#include "convkit/models/image_metadata.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/multi_input.h"
#include "progress.h"

namespace convkit::cli {

namespace {
// Width of the image branch's output (the registry model built with this many "classes").
constexpr int64_t kImageFeatures = 32;
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
  models::ImageMetadataNet model(models::create_model(o.model, {ex[0], kImageFeatures, ex[1]}),
                                 kImageFeatures,
                                 {.num_classes = images->num_classes(),
                                  .numeric = schema.num_numeric(),
                                  .vocab_sizes = schema.vocab_sizes()});
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
  meta["model"] = "image_metadata:" + o.model;
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

}  // namespace convkit::cli
