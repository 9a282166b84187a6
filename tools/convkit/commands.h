#pragma once
// The `convkit` command-line tool: one file per subcommand.
#include <CLI/CLI.hpp>

namespace convkit::cli {

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_summary(CLI::App& app);

// Shared: --threads and --backend, applied before a command runs.
struct RuntimeOptions {
  int threads = 0;  // 0: leave OpenMP's default
  std::string backend;
};
void add_runtime_options(CLI::App& cmd, RuntimeOptions& opt);
void apply_runtime_options(const RuntimeOptions& opt);

}  // namespace convkit::cli
