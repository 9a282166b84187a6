#include "convkit/nn/init.h"

#include <cmath>

namespace convkit::nn::init {

namespace {
thread_local bool skip_init = false;

template <class F>
void fill_each(Tensor& t, F&& f) {
  CONVKIT_CHECK(t.defined() && is_floating(t.dtype()), "init: expected a floating tensor");
  if (skip_init) {
    t.fill_(0.0);
    return;
  }
  const int64_t n = t.numel();
  if (t.dtype() == DType::f32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = float(f());
  } else {
    double* p = t.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = f();
  }
}
Generator& pick(Generator* g) { return g ? *g : default_generator(); }
}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skip_init) { skip_init = true; }
SkipInitGuard::~SkipInitGuard() { skip_init = previous_; }
bool SkipInitGuard::active() { return skip_init; }

Fans compute_fans(const Tensor& w) {
  CONVKIT_CHECK(w.defined() && w.ndim() >= 2, "init: fan in/out need a weight of rank >= 2, got ",
                w.defined() ? w.shape().to_string() : "undefined");
  int64_t receptive = 1;
  for (int d = 2; d < w.ndim(); ++d) receptive *= w.size(d);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

double calculate_gain(Nonlinearity f, double param) {
  switch (f) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid:
      return 1.0;
    case Nonlinearity::tanh:
      return 5.0 / 3.0;
    case Nonlinearity::relu:
      return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu:
      return 0.75;
  }
  return 1.0;
}

void constant_(Tensor& t, double value) { t.fill_(value); }

void uniform_(Tensor& t, double lo, double hi, Generator* gen) {
  Generator& g = pick(gen);
  fill_each(t, [&] { return g.uniform(lo, hi); });
}

void normal_(Tensor& t, double mean, double std, Generator* gen) {
  Generator& g = pick(gen);
  fill_each(t, [&] { return g.normal(mean, std); });
}

void xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  Fans f = compute_fans(t);
  double a = gain * std::sqrt(6.0 / double(f.fan_in + f.fan_out));
  uniform_(t, -a, a, gen);
}

void xavier_normal_(Tensor& t, double gain, Generator* gen) {
  Fans f = compute_fans(t);
  normal_(t, 0.0, gain * std::sqrt(2.0 / double(f.fan_in + f.fan_out)), gen);
}

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity f) {
  Fans fans = compute_fans(t);
  int64_t fan = mode == FanMode::fan_in ? fans.fan_in : fans.fan_out;
  CONVKIT_CHECK(fan > 0, "init: kaiming init of an empty weight ", t.shape().to_string());
  return calculate_gain(f, a) / std::sqrt(double(fan));
}
}  // namespace

void kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity f, Generator* gen) {
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, f);
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity f, Generator* gen) {
  normal_(t, 0.0, kaiming_std(t, a, mode, f), gen);
}

void torch_default_(Tensor& weight, Tensor* bias, Generator* gen) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, Nonlinearity::leaky_relu, gen);
  if (bias && bias->defined()) {
    double bound = 1.0 / std::sqrt(double(compute_fans(weight).fan_in));
    uniform_(*bias, -bound, bound, gen);
  }
}

}  // namespace convkit::nn::init
