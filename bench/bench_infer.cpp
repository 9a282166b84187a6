// Inference time of a registered model (eval mode, no grad, random input, 1000 classes) for
// bench/infer_compare.sh. Prints one JSON line:
//   {"model":..., "threads":..., "batch":..., "size":..., "ms_per_batch":..., "ms_per_image":...}
// where ms_per_batch is the median of `reps` timed forward passes after two warm-up passes.
// Usage: bench_infer MODEL [batch=1] [reps=10] [size=224]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "convkit/convkit.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_infer MODEL [batch] [reps] [size]\n");
    return 2;
  }
  const std::string name = argv[1];
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 1;
  const int reps = argc > 3 ? std::stoi(argv[3]) : 10;
  const int64_t size = argc > 4 ? std::stoll(argv[4]) : 224;
  manual_seed(0);
  auto model = models::create_model(name, {3, 1000, size});
  model->eval();
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({batch, 3, size, size});
  for (int i = 0; i < 2; ++i) (*model)(x);  // primitive creation, allocations
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    (*model)(x);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  const double median = ms[size_t(reps / 2)];
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"batch\": %lld, \"size\": %lld, "
      "\"ms_per_batch\": %.3f, \"ms_per_image\": %.3f}\n",
      name.c_str(), omp_get_max_threads(), (long long)batch, (long long)size, median,
      median / double(batch));
}
