// Forward + backward of batch_norm and local_response_norm on real layer shapes, per backend.
// Compare with PyTorch: /usr/bin/python3 bench/norm_torch.py (same shapes). Results and the
// layout choice they motivated: docs/derivatives/norm.md, "Kernels and layouts".
#include <benchmark/benchmark.h>

#include "convkit/convkit.h"

using namespace convkit;

namespace {

void run(benchmark::State& state, Backend backend, const Shape& shape,
         const std::function<Tensor(const Tensor&)>& op) {
  BackendGuard guard(backend);
  Tensor x = Tensor::randn(shape).set_requires_grad(true);
  Tensor g = Tensor::randn(shape);
  for (auto _ : state) {
    Tensor y = op(x);
    y.backward(g);
    x.zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * shape[0]);
}

// ResNet-50's first batch norm at batch 32 (conv1 output, 64 channels at 112x112 would be
// larger; layer1's 64x56x56 is the most frequent).
void BM_BatchNormTrain(benchmark::State& state, Backend backend) {
  Tensor w = Tensor::ones({64}).set_requires_grad(true),
         b = Tensor::zeros({64}).set_requires_grad(true);
  Tensor rm = Tensor::zeros({64}), rv = Tensor::ones({64});
  run(state, backend, {32, 64, 56, 56},
      [&](const Tensor& x) { return batch_norm(x, w, b, rm, rv, /*training=*/true); });
}

// AlexNet's first LRN (after conv1 + ReLU + pool in the original: 96 x 27 x 27).
void BM_LrnAlexNet(benchmark::State& state, Backend backend) {
  run(state, backend, {32, 96, 27, 27}, [](const Tensor& x) {
    return local_response_norm(x, /*size=*/5, /*alpha=*/1e-4, /*beta=*/0.75, /*k=*/2.0);
  });
}

}  // namespace

BENCHMARK_CAPTURE(BM_BatchNormTrain, dnnl, Backend::dnnl)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BatchNormTrain, ref, Backend::ref)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LrnAlexNet, dnnl, Backend::dnnl)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LrnAlexNet, ref, Backend::ref)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
