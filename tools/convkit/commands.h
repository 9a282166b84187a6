#pragma once
// The `convkit` command-line tool: one file per subcommand, each a thin layer over the library
// (infer/ for everything that runs a trained model).
#include <CLI/CLI.hpp>

#include "convkit/infer/bundle.h"
#include "convkit/infer/session.h"

namespace convkit::cli {

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_summary(CLI::App& app);
void add_augment_preview(CLI::App& app);
void add_export(CLI::App& app);
void add_make_shapes(CLI::App& app);
void add_style(CLI::App& app);
void add_transfer(CLI::App& app);
void add_cam(CLI::App& app);
void add_features(CLI::App& app);
void add_filters(CLI::App& app);
void add_verify(CLI::App& app);            // verify_cmd.cpp
void add_gallery_commands(CLI::App& app);  // enrol, identify: gallery_cmd.cpp
void add_detect(CLI::App& app);
void add_check_data(CLI::App& app);  // check_data_cmd.cpp
void add_report(CLI::App& app);      // report_cmd.cpp
void add_cv(CLI::App& app);          // cv_cmd.cpp
void add_serve(CLI::App& app);       // serve_cmd.cpp
void add_demo(CLI::App& app);        // demo_cmd.cpp
void add_bench(CLI::App& app);       // bench_cmd.cpp

// Sets OMP_WAIT_POLICY=passive and re-executes the process when the user set no OpenMP wait
// policy (wait_policy.cpp says why). Returns only when no re-execution happened.
void choose_omp_wait_policy(char** argv);

// The model file every command takes the same way: a positional MODEL (a weights file written by
// `convkit train`, an .onnx file, or a torchvision-named safetensors file with --model NAME).
struct ModelArgs {
  std::string path;
  infer::BundleOptions options;
};
// The positional MODEL (required unless `required` is false) and --model/--classes/--image-size
// for files without convkit metadata.
void add_model_argument(CLI::App& cmd, ModelArgs& args, bool required = true);
infer::ModelBundle load_model_argument(const ModelArgs& args);

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

}  // namespace convkit::cli
