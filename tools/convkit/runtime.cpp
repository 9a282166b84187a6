#include <omp.h>

#include "commands.h"
#include "convkit/backend.h"
#include "convkit/error.h"

namespace convkit::cli {

void add_runtime_options(CLI::App& cmd, RuntimeOptions& opt) {
  cmd.add_option("--threads", opt.threads, "Threads for the kernels (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--backend", opt.backend, "Kernel backend: dnnl (default) or ref")
      ->check(CLI::IsMember({"dnnl", "ref"}));
}

void apply_runtime_options(const RuntimeOptions& opt) {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  if (opt.backend == "ref") set_backend(Backend::ref);
  if (opt.backend == "dnnl") set_backend(Backend::dnnl);
}

data::DatasetPtr dataset_for_model(const train::LoadedModel& m, const std::string& dir,
                                   const std::string& split) {
  data::DatasetPtr ds = data::fashion_mnist(dir, split == "train");
  if (m.norm_mean.empty()) return ds;
  return std::make_shared<data::Normalized>(ds, data::ChannelStats{m.norm_mean, m.norm_std});
}

}  // namespace convkit::cli
