#pragma once
// The `convkit` command-line tool: one file per subcommand.
#include <CLI/CLI.hpp>

#include "convkit/data/dataset.h"
#include "convkit/train/checkpoint.h"

namespace convkit::cli {

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_summary(CLI::App& app);
void add_augment_preview(CLI::App& app);

// Shared: --threads and --backend, applied before a command runs.
struct RuntimeOptions {
  int threads = 0;  // 0: leave OpenMP's default
  std::string backend;
};
void add_runtime_options(CLI::App& cmd, RuntimeOptions& opt);
void apply_runtime_options(const RuntimeOptions& opt);

// The split of the MNIST-layout dataset in `dir`, standardized as the model was in training.
data::DatasetPtr dataset_for_model(const train::LoadedModel& m, const std::string& dir,
                                   const std::string& split);

}  // namespace convkit::cli
