// Inference time of a registered model (eval mode, no grad, random input, 1000 classes) for
// bench/infer_compare.sh. Prints one JSON line:
//   {"model":..., "threads":..., "batch":..., "size":..., "ms_per_batch":..., "ms_per_image":...}
// where ms_per_batch is the median of `reps` timed forward passes after two warm-up passes.
// PATH is "plan" (default: infer::InferencePlan, what Session, predict, eval and serve run) or
// "module" (the module's own forward pass, op by op).
// Usage: bench_infer MODEL [batch=1] [reps=10] [size=224] [plan|module]
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
  const std::string path = argc > 5 ? argv[5] : "plan";
  if (path != "plan" && path != "module") {
    std::fprintf(stderr, "bench_infer: PATH is plan or module, got %s\n", path.c_str());
    return 2;
  }
  manual_seed(0);
  auto model = models::create_model(name, {3, 1000, size});
  model->eval();
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({batch, 3, size, size});
  std::unique_ptr<infer::InferencePlan> plan;
  if (path == "plan") plan = infer::InferencePlan::build(*model, x.shape());
  auto forward = [&] { return plan ? plan->run(x) : (*model)(x); };
  for (int i = 0; i < 2; ++i) forward();  // primitive creation, allocations
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    forward();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  const double median = ms[size_t(reps / 2)];
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"batch\": %lld, \"size\": %lld, "
      "\"path\": \"%s\", \"ms_per_batch\": %.3f, \"ms_per_image\": %.3f}\n",
      name.c_str(), omp_get_max_threads(), (long long)batch, (long long)size, path.c_str(), median,
      median / double(batch));
}
