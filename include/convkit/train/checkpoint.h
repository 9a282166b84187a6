#pragma once
// Checkpoints in the safetensors format (docs/checkpoints.md).
//
// Weights file: the model's state dict under its torchvision-style names, metadata
// {"convkit_format": "1", "kind": "weights", "model": name, "config": JSON, ...}. Python's
// safetensors (and torch) read it directly.
// Training state: the same weights under "model.<name>", the optimizer state under
// "optim.<key>", and metadata with the epoch, the next batch, the global step, RNG state and the
// best metric, so `--resume` continues exactly where the run stopped.
// Every write is atomic (temp file, fsync, rename); every load checks the file's kind and each
// tensor against the model and names the file and the first mismatching tensor.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/optim/optimizer.h"

namespace convkit::train {

using Metadata = std::map<std::string, std::string>;

void save_weights(const std::string& path, const nn::Module& model, Metadata metadata = {});
// Loads into `model` (strict: same names and shapes). Returns the file's metadata.
Metadata load_weights(const std::string& path, nn::Module& model);
// The metadata alone (e.g. to learn which model to build before loading).
Metadata read_metadata(const std::string& path);

struct TrainState {
  int64_t epoch = 0;       // epoch to run next (or to continue)
  int64_t next_batch = 0;  // first batch of `epoch` still to run (0: the epoch has not started)
  int64_t step = 0;        // optimizer steps taken so far
  double best_metric = -1;
  std::string rng_state;  // default_generator() state (dropout masks)
  std::vector<double> plateau_state;
  Metadata extra;  // the run's configuration and anything else the caller keeps
};

void save_train_state(const std::string& path, const nn::Module& model, const optim::Optimizer& opt,
                      const TrainState& state);
TrainState load_train_state(const std::string& path, nn::Module& model, optim::Optimizer& opt);

}  // namespace convkit::train

namespace convkit::train {

// The model a weights file names, built and loaded: infer::load_checkpoint (infer/bundle.h) in the
// shape train::Teacher reads. New code uses infer::ModelBundle, which also carries the
// preprocessing and input-size limits.
struct LoadedModel {
  std::shared_ptr<nn::Module> model;
  std::string name;
  int64_t in_channels = 0, num_classes = 0, image_size = 0;
  std::vector<std::string> class_names;
  std::vector<double> norm_mean, norm_std;  // input standardization used in training, if any
  Metadata metadata;
};
LoadedModel load_model(const std::string& weights_path);

}  // namespace convkit::train
