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
void add_export(CLI::App& app);
void add_make_shapes(CLI::App& app);

// Sets OMP_WAIT_POLICY=passive and re-executes the process when the user set no OpenMP wait
// policy (wait_policy.cpp says why). Returns only when no re-execution happened.
void choose_omp_wait_policy(char** argv);

// onnx_cmd.cpp: a weights file, or an .onnx file (its metadata from `convkit export` gives the
// class names and the input standardization).
train::LoadedModel load_model_file(const std::string& path);
// Prints the node table of an .onnx file (symbolic input dims: batch 1, else image_size); false
// when `path` is not an .onnx file.
bool print_onnx_summary(const std::string& path, int64_t image_size);

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
