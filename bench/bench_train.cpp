// Training and inference throughput of a registered model on random data (no data loading), for
// bench/train_compare.sh. Prints one JSON line:
//   {"model":..., "threads":..., "train_img_s":..., "infer_img_s":..., "latency_ms":...}
// Usage: bench_train MODEL [steps=20] [batch=128] [channels=1] [size=28]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "convkit/convkit.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;

namespace {
double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_train MODEL [steps] [batch] [channels] [size]\n");
    return 2;
  }
  const std::string name = argv[1];
  const int steps = argc > 2 ? std::stoi(argv[2]) : 20;
  const int64_t batch = argc > 3 ? std::stoll(argv[3]) : 128;
  const int64_t ch = argc > 4 ? std::stoll(argv[4]) : 1;
  const int64_t size = argc > 5 ? std::stoll(argv[5]) : 28;
  manual_seed(0);
  auto model = models::create_model(name, {ch, 10, size});
  optim::SGD opt(optim::single_group(*model, 0.01, 5e-4), {.momentum = 0.9});
  Tensor x = Tensor::randn({batch, ch, size, size});
  std::vector<int64_t> l(batch);
  for (int64_t i = 0; i < batch; ++i) l[i] = i % 10;
  Tensor y = Tensor::from_vector<int64_t>(l, {batch});

  auto train_step = [&] {
    opt.zero_grad();
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    opt.step();
  };
  model->train();
  for (int i = 0; i < 3; ++i) train_step();  // warm-up: primitive creation, allocations
  auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) train_step();
  double train_ips = double(steps * batch) / secs(t0);

  model->eval();
  NoGradGuard no_grad;
  for (int i = 0; i < 2; ++i) (*model)(x);
  t0 = Clock::now();
  for (int i = 0; i < steps; ++i) (*model)(x);
  double infer_ips = double(steps * batch) / secs(t0);
  Tensor one = x.slice(0, 1).clone();
  for (int i = 0; i < 5; ++i) (*model)(one);
  const int reps = 50;
  t0 = Clock::now();
  for (int i = 0; i < reps; ++i) (*model)(one);
  double latency_ms = 1000 * secs(t0) / reps;
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"batch\": %lld, \"train_img_s\": %.1f, "
      "\"infer_img_s\": %.1f, \"latency_ms\": %.3f}\n",
      name.c_str(), omp_get_max_threads(), (long long)batch, train_ips, infer_ips, latency_ms);
}
