// Grad-CAM latency of a registered model (eval mode, random weights and input, 1000 classes) for
// bench/gradcam_compare.sh: viz::class_activation_maps for the top-1 class at the default layer,
// which backpropagates only to that layer with frozen parameters. Prints one JSON line:
//   {"model":..., "threads":..., "size":..., "layer":..., "ms":...}   (median of `reps` after 2
//   warm-ups)
// Usage: bench_gradcam MODEL [reps=10] [size=224]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "convkit/convkit.h"
#include "convkit/viz/gradcam.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_gradcam MODEL [reps] [size]\n");
    return 2;
  }
  const std::string name = argv[1];
  const int reps = argc > 2 ? std::stoi(argv[2]) : 10;
  const int64_t size = argc > 3 ? std::stoll(argv[3]) : 224;
  manual_seed(0);
  auto model = models::create_model(name, {3, 1000, size});
  model->eval();
  const Tensor x = Tensor::randn({1, 3, size, size});
  viz::CamOptions o;
  o.layer = viz::class_activation_maps(*model, x, o, name).layer;  // found once, as a user would
  for (int i = 0; i < 2; ++i) viz::class_activation_maps(*model, x, o, name);
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    viz::class_activation_maps(*model, x, o, name);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"size\": %lld, \"layer\": \"%s\", \"ms\": %.3f}\n",
      name.c_str(), omp_get_max_threads(), (long long)size, o.layer.c_str(), ms[size_t(reps / 2)]);
}
