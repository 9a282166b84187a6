#include "support/gradcheck.h"

#include <cmath>
#include <sstream>

namespace convkit::test {

namespace {
double contract(const Tensor& y, const Tensor& r) {
  const double* py = y.data<double>();
  const double* pr = r.data<double>();
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += py[i] * pr[i];
  return s;
}
}  // namespace

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape()) << a.shape().to_string() << " vs " << b.shape().to_string();
  Tensor da = a.detach().to(DType::f64), db = b.detach().to(DType::f64);
  double m = 0;
  for (int64_t i = 0; i < da.numel(); ++i)
    m = std::max(m, std::abs(da.data<double>()[i] - db.data<double>()[i]));
  return m;
}

double max_abs(const Tensor& a) {
  Tensor d = a.detach().to(DType::f64);
  double m = 0;
  for (int64_t i = 0; i < d.numel(); ++i) m = std::max(m, std::abs(d.data<double>()[i]));
  return m;
}

double relative_rms(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape())
      << got.shape().to_string() << " vs " << want.shape().to_string();
  Tensor g = got.detach().to(DType::f64), w = want.detach().to(DType::f64);
  double e = 0, r = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const double d = g.data<double>()[i] - w.data<double>()[i];
    e += d * d, r += w.data<double>()[i] * w.data<double>()[i];
  }
  return std::sqrt(e / r);
}

Tensor rand_var(const Shape& shape, uint64_t seed, double scale) {
  Generator g(seed);
  Tensor t = mul(Tensor::randn(shape, &g, DType::f64), scale);
  return t.set_requires_grad(true);
}

::testing::AssertionResult gradcheck(const Fn& f, const TensorList& inputs,
                                     const GradcheckOptions& opt) {
  BackendGuard ref_backend(Backend::ref);
  for (const Tensor& x : inputs)
    if (x.defined() && x.requires_grad() && x.dtype() != DType::f64)
      return ::testing::AssertionFailure() << "gradcheck needs float64 inputs";
  Tensor y = f(inputs);
  Generator g(opt.seed);
  Tensor r = Tensor::randn(y.shape(), &g, DType::f64);
  for (const Tensor& x : inputs)
    if (x.defined() && x.requires_grad()) const_cast<Tensor&>(x).zero_grad();
  y.backward(r);

  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (!analytic.defined()) analytic = Tensor::zeros(x.shape(), DType::f64);
    double* px = const_cast<Tensor&>(x).data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double saved = px[i];
      double lp, lm;
      {
        NoGradGuard ng;
        px[i] = saved + opt.eps;
        lp = contract(f(inputs), r);
        px[i] = saved - opt.eps;
        lm = contract(f(inputs), r);
        px[i] = saved;
      }
      double numeric = (lp - lm) / (2 * opt.eps);
      double a = analytic.data<double>()[i];
      if (std::abs(a - numeric) > opt.atol + opt.rtol * std::abs(numeric))
        return ::testing::AssertionFailure()
               << "input " << k << " (shape " << x.shape().to_string() << ") element " << i
               << ": analytic " << a << " vs numeric " << numeric;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult compare_backends(const Fn& f, const TensorList& inputs, double atol,
                                            double rtol) {
  auto run = [&](Backend b, Tensor& out, TensorList& grads) {
    BackendGuard guard(b);
    TensorList copies;
    for (const Tensor& x : inputs) {
      if (!x.defined()) {
        copies.push_back(x);
        continue;
      }
      Tensor c = x.detach().clone();
      if (x.requires_grad()) c.set_requires_grad(true);
      copies.push_back(c);
    }
    out = f(copies);
    if (out.requires_grad()) {
      Generator g(99);
      out.backward(Tensor::randn(out.shape(), &g, out.dtype()));
    }
    for (const Tensor& c : copies)
      grads.push_back(c.defined() && c.requires_grad() ? c.grad() : Tensor());
  };
  Tensor y_ref, y_dnnl;
  TensorList g_ref, g_dnnl;
  run(Backend::ref, y_ref, g_ref);
  run(Backend::dnnl, y_dnnl, g_dnnl);
  double tol = atol + rtol * max_abs(y_ref);
  double d = max_abs_diff(y_ref, y_dnnl);
  if (!(d <= tol))
    return ::testing::AssertionFailure()
           << "outputs differ by " << d << " (tolerance " << tol << ")";
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!g_ref[k].defined() && !g_dnnl[k].defined()) continue;
    if (g_ref[k].defined() != g_dnnl[k].defined())
      return ::testing::AssertionFailure()
             << "gradient of input " << k << " defined on one backend only";
    double gt = atol + rtol * max_abs(g_ref[k]);
    double gd = max_abs_diff(g_ref[k], g_dnnl[k]);
    if (!(gd <= gt))
      return ::testing::AssertionFailure()
             << "gradients of input " << k << " differ by " << gd << " (tolerance " << gt << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace convkit::test
