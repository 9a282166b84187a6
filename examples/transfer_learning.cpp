// The five-step fine-tuning recipe in a few library calls (docs/transfer.md), with the
// from-scratch baseline beside it. Usage:
//   example_transfer_learning BASE.safetensors DATA_DIR [CUT_LAYER]
// BASE: a checkpoint written by `convkit train`; DATA_DIR: an image folder of the new classes.
#include <convkit/convkit.h>

#include <cstdio>

#include "convkit/infer/bundle.h"
using namespace convkit;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BASE.safetensors DATA_DIR [CUT_LAYER]\n", argv[0]);
    return 2;
  }
  try {
    infer::ModelBundle b = infer::load_checkpoint(argv[1]);
    const std::string cut = argc > 3 ? argv[3] : "avgpool";

    // The target images, prepared and standardized as the base's training data was.
    data::ImageDatasetOptions io;
    io.preprocessing = b.preprocessing;
    auto images = std::make_shared<data::ImageDataset>(data::ImageSource::open(argv[2]), io);
    auto [train, val] = data::train_val_split(images, /*val_fraction=*/0.2, /*seed=*/1);
    auto standardize = [&](const data::DatasetPtr& ds) -> data::DatasetPtr {
      if (b.standardization.mean.empty()) return ds;
      return std::make_shared<data::Normalized>(ds, b.standardization);
    };
    const transfer::TransferData data{standardize(train), standardize(val), nullptr};
    const Shape example{b.in_channels, b.image_size, b.image_size};

    // 1-2. A new head on the base cut at `cut`; the base starts frozen.
    manual_seed(1);
    transfer::TransferModel model(std::make_shared<transfer::Truncated>(b.module, cut, example),
                                  images->num_classes());
    transfer::StageOptions o;
    o.epochs = 5;
    o.cache_dir = "features";  // 3. the head trains on features computed once
    o.data_source = argv[2];
    std::printf("%s\n", transfer::train_head(model, data, o).to_string().c_str());

    // 4-5. Unfreeze the top block; train jointly, the base at 0.1x the head's rate.
    transfer::unfreeze_top(model, 1);
    o.cache_dir.clear();
    std::printf("%s\n", transfer::train_joint(model, data, o).to_string().c_str());

    // The baseline: the same network from scratch, the same 10 epochs.
    transfer::TransferModel fresh(
        std::make_shared<transfer::Truncated>(
            models::create_model(b.name, {b.in_channels, b.num_classes, b.image_size}), cut,
            example),
        images->num_classes());
    o.epochs = 10;
    std::printf("%s\n", transfer::train_scratch(fresh, data, o).to_string().c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
