// conv2d micro-benchmark at ResNet-20 (CIFAR) shapes, batch 128: forward, backward-data,
// backward-weights (+bias) and forward+backward, per backend. bench/conv_torch.py times the same
// phases in PyTorch; bench/conv_compare.sh runs both and prints the ratios
// (docs/benchmarks/conv.md).
//
// Phases, as a training step sees them (conv_torch.py mirrors each one):
//   fwd:         y = conv2d(x, w, b) with x, w, b requiring grad (the forward_training primitive)
//   bwd_data:    autograd::grad(y, {x}, gy) with only x requiring grad (forward not timed)
//   bwd_weights: autograd::grad(y, {w, b}, gy) with only w, b requiring grad (forward not timed)
//   fwd_bwd:     forward, then autograd::grad(y, {x, w, b}, gy)
// autograd::grad (not backward()) so that no phase pays for accumulating into .grad().
// Threads: oneDNN uses OpenMP; set OMP_NUM_THREADS (conv_compare.sh does).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "convkit/convkit.h"

using namespace convkit;

namespace {

struct Layer {
  const char* name;
  int64_t N, IC, OC, HW;
};

// ResNet-20's distinct conv shapes: the stem, then the 3x3 pad-1 convs of each stage.
const std::vector<Layer> kLayers = {
    {"3to16_32x32", 128, 3, 16, 32},
    {"16to16_32x32", 128, 16, 16, 32},
    {"32to32_16x16", 128, 32, 32, 16},
    {"64to64_8x8", 128, 64, 64, 8},
};

enum class Phase { fwd, bwd_data, bwd_weights, fwd_bwd };
const char* phase_name(Phase p) {
  switch (p) {
    case Phase::fwd:
      return "fwd";
    case Phase::bwd_data:
      return "bwd_data";
    case Phase::bwd_weights:
      return "bwd_weights";
    case Phase::fwd_bwd:
      return "fwd_bwd";
  }
  return "?";
}

void run_conv(benchmark::State& state, Layer l, Phase phase, Backend backend) {
  BackendGuard guard(backend);
  Generator gen(1);
  const bool grad_x = phase != Phase::bwd_weights, grad_w = phase != Phase::bwd_data;
  Tensor x = Tensor::randn({l.N, l.IC, l.HW, l.HW}, &gen).set_requires_grad(grad_x);
  Tensor w = mul(Tensor::randn({l.OC, l.IC, 3, 3}, &gen), 0.1).set_requires_grad(grad_w);
  Tensor b = Tensor::zeros({l.OC}).set_requires_grad(grad_w);
  Tensor gy = Tensor::randn({l.N, l.OC, l.HW, l.HW}, &gen);
  const Conv2dParams p = Conv2dParams().set_padding(1);
  TensorList wrt;
  if (grad_x) wrt.push_back(x);
  if (grad_w) wrt.insert(wrt.end(), {w, b});

  for (auto _ : state) {
    if (phase == Phase::fwd) {
      Tensor y = conv2d(x, w, b, p);
      benchmark::DoNotOptimize(y.raw_data());
    } else if (phase == Phase::fwd_bwd) {
      Tensor y = conv2d(x, w, b, p);
      TensorList g = autograd::grad({y}, wrt, {gy});
      benchmark::DoNotOptimize(g[0].raw_data());
    } else {
      state.PauseTiming();
      Tensor y = conv2d(x, w, b, p);
      state.ResumeTiming();
      TensorList g = autograd::grad({y}, wrt, {gy});
      benchmark::DoNotOptimize(g[0].raw_data());
    }
  }
  // Direct-convolution multiply-adds of the timed phase, as a rate (fwd_bwd counts three convs).
  const double macs = double(l.N) * l.OC * l.HW * l.HW * l.IC * 9;
  const double convs = phase == Phase::fwd_bwd ? 3 : 1;
  state.counters["GFLOP/s"] = benchmark::Counter(
      2 * macs * convs * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const char* threads = std::getenv("OMP_NUM_THREADS");
  benchmark::AddCustomContext("OMP_NUM_THREADS", threads ? threads : "(unset)");
  for (const Layer& l : kLayers)
    for (Phase ph : {Phase::fwd, Phase::bwd_data, Phase::bwd_weights, Phase::fwd_bwd}) {
      std::string name = std::string("conv/") + l.name + "/" + phase_name(ph);
      benchmark::RegisterBenchmark((name + "/dnnl").c_str(), run_conv, l, ph, Backend::dnnl)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      // The reference kernels are single-threaded plain loops (~100x slower): a couple of
      // iterations on the cheapest layer show the gap without stalling the run.
      if (l.IC == 3)
        benchmark::RegisterBenchmark((name + "/ref").c_str(), run_conv, l, ph, Backend::ref)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->Iterations(2);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
