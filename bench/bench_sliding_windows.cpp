// Sliding windows on one 256 x 256 image: the naive detector (crop + classify each window) vs its
// convolutional form (models::convolutionalize, one pass), for bench/sliding_windows.sh. A LeNet-
// style classifier with unpadded features (so both give the same scores), trained size 32,
// stride 4: 57 x 57 = 3249 windows. Prints one JSON line with the median ms of each and the
// speed-up, after checking that both agree to 1e-4.
// Usage: bench_sliding_windows [reps=5] [size=256]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "convkit/convkit.h"
#include "convkit/detect/sliding_window.h"
#include "convkit/models/convolutionalize.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[size_t(reps / 2)];
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::stoi(argv[1]) : 5;
  const int64_t size = argc > 2 ? std::stoll(argv[2]) : 256;
  using namespace nn;
  manual_seed(0);
  // 32 -> conv5 28 -> pool 14 -> conv5 10 -> pool 5: features 16 x 5 x 5, total stride 4.
  auto model = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(3, 6, 5), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2, 2), std::make_shared<Conv2d>(6, 16, 5),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2), std::make_shared<Flatten>(),
      std::make_shared<Linear>(16 * 5 * 5, 120), std::make_shared<ReLU>(),
      std::make_shared<Linear>(120, 84), std::make_shared<ReLU>(),
      std::make_shared<Linear>(84, 10)});
  auto conv = models::convolutionalize(*model, 32);
  const Tensor image = Tensor::randn({1, 3, size, size});
  Tensor naive, fast;
  const double naive_ms =
      median_ms(reps, [&] { naive = detect::sliding_window_naive(*model, image, 32, 4, 256); });
  const double conv_ms = median_ms(reps, [&] { fast = detect::sliding_window_conv(*conv, image); });
  double diff = 0;
  for (int64_t i = 0; i < naive.numel(); ++i)
    diff = std::max<double>(diff, std::abs(naive.data<float>()[i] - fast.data<float>()[i]));
  std::printf(
      "{\"size\": %lld, \"windows\": %lld, \"naive_ms\": %.2f, \"conv_ms\": %.2f, \"speedup\": "
      "%.1f, \"max_abs_diff\": %.2e}\n",
      (long long)size, (long long)(naive.size(2) * naive.size(3)), naive_ms, conv_ms,
      naive_ms / conv_ms, diff);
  return diff <= 1e-4 ? 0 : 1;
}
