// In-process inference through infer::Session, the baseline of bench/serve_load.sh: a registered
// model with random weights is saved as a checkpoint (the file `convkit serve` then loads), and
// Session::probabilities is timed at batch 1 and batch B on it. Prints one JSON line:
//   {"model":..., "threads":..., "batch1_ms":..., "batchB_ms_per_image":...,
//   "batchB_images_per_s":...}
// (medians of `reps` timed calls after two warm-up calls).
// Usage: bench_session MODEL SIZE CHANNELS CLASSES OUT.safetensors [B=32] [reps=20]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convkit/convkit.h"
#include "convkit/infer/bundle.h"
#include "convkit/infer/session.h"
#include "convkit/train/checkpoint.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;

namespace {
double median_ms(const infer::Session& s, const Tensor& x, int reps) {
  for (int i = 0; i < 2; ++i) s.probabilities(x);
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    s.probabilities(x);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[size_t(reps / 2)];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_session MODEL SIZE CHANNELS CLASSES OUT [B] [reps]\n");
    return 2;
  }
  const std::string name = argv[1], out = argv[5];
  const int64_t size = std::stoll(argv[2]), channels = std::stoll(argv[3]),
                classes = std::stoll(argv[4]);
  const int64_t batch = argc > 6 ? std::stoll(argv[6]) : 32;
  const int reps = argc > 7 ? std::stoi(argv[7]) : 20;
  manual_seed(0);
  auto model = models::create_model(name, {channels, classes, size});
  std::vector<std::string> names;
  for (int64_t k = 0; k < classes; ++k) names.push_back("class" + std::to_string(k));
  const nlohmann::json config = {
      {"in_channels", channels},
      {"num_classes", classes},
      {"image_size", size},
      {"class_names", names},
      {"normalization",
       {{"mean", std::vector<double>(size_t(channels), 0.5)},
        {"std", std::vector<double>(size_t(channels), 0.25)}}},
      {"preprocessing",
       {{"image_size", size}, {"load_size", size}, {"color", channels == 1 ? "gray" : "rgb"}}}};
  train::save_weights(out, *model, {{"model", name}, {"config", config.dump()}});
  const infer::Session s(infer::load_checkpoint(out));
  const double one = median_ms(s, Tensor::randn({1, channels, size, size}), reps);
  const double many = median_ms(s, Tensor::randn({batch, channels, size, size}), reps);
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"size\": %lld, \"batch1_ms\": %.3f, \"batch\": %lld, "
      "\"batch_ms_per_image\": %.4f, \"batch_images_per_s\": %.1f}\n",
      name.c_str(), omp_get_max_threads(), (long long)size, one, (long long)batch,
      many / double(batch), 1e3 * double(batch) / many);
}
