// torch.optim.LBFGS (torch/optim/lbfgs.py, PyTorch 1.13), line for line: the variable names are
// torch's, so the two read side by side. Vector arithmetic is on flat tensors of the parameters'
// dtype; scalars (dots, step sizes) are double. The vector loops run on OpenMP threads for long
// vectors (an image's pixels: the two-loop recursion reads 2 * history_size of them per iteration).
#include "convkit/optim/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "convkit/autograd.h"
#include "core/dispatch.h"

#ifdef __clang__
// The sanitizer build compiles at -O1, where clang does not vectorize: its "loop not vectorized"
// for the simd loops below is expected there.
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace convkit::optim {

namespace {

constexpr int64_t kParallel = 65536;  // elements below which threads cost more than they save

template <class F>
decltype(auto) on_floats(const Tensor& t, F&& f) {
  return convkit::detail::dispatch_floating(t.dtype(), "LBFGS", std::forward<F>(f));
}

double dot(const Tensor& a, const Tensor& b) {
  return on_floats(a, [&]<class T>() {
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    const int64_t n = a.numel();
    double s = 0;
#pragma omp parallel for simd reduction(+ : s) if (n > kParallel)
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(y[i]);
    return s;
  });
}

// y += alpha * x
void axpy(Tensor& y, double alpha, const Tensor& x) {
  on_floats(y, [&]<class T>() {
    T* py = y.data<T>();
    const T* px = x.data<T>();
    const T a = T(alpha);
    const int64_t n = y.numel();
#pragma omp parallel for simd if (n > kParallel)
    for (int64_t i = 0; i < n; ++i) py[i] += a * px[i];
  });
}

Tensor scaled(const Tensor& x, double alpha) {
  Tensor y = Tensor::zeros(x.shape(), x.dtype());
  axpy(y, alpha, x);
  return y;
}

double abs_max(const Tensor& x) {
  return on_floats(x, [&]<class T>() {
    const T* p = x.data<T>();
    const int64_t n = x.numel();
    double m = 0;
#pragma omp parallel for reduction(max : m) if (n > kParallel)
    for (int64_t i = 0; i < n; ++i) m = std::max(m, double(std::abs(p[i])));
    return m;
  });
}

double abs_sum(const Tensor& x) {
  return on_floats(x, [&]<class T>() {
    const T* p = x.data<T>();
    const int64_t n = x.numel();
    double s = 0;
#pragma omp parallel for simd reduction(+ : s) if (n > kParallel)
    for (int64_t i = 0; i < n; ++i) s += double(std::abs(p[i]));
    return s;
  });
}

Tensor scalar_tensor(double v) { return Tensor::full({}, v, DType::f64); }

// torch's _cubic_interpolate (from torch/optim's polyinterp.lua): the minimiser of the cubic
// through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to the bounds; their midpoint when
// the cubic has no real minimiser.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         double xmin_bound, double xmax_bound) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const double d2 = std::sqrt(d2_square);
    const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return std::min(std::max(min_pos, xmin_bound), xmax_bound);
  }
  return (xmin_bound + xmax_bound) / 2.;
}

double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2) {
  return cubic_interpolate(x1, f1, g1, x2, f2, g2, std::min(x1, x2), std::max(x1, x2));
}

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions options)
    : Optimizer({ParamGroup{std::move(params), options.lr}}, "LBFGS"), opt_(options) {
  if (opt_.max_eval < 0) opt_.max_eval = opt_.max_iter * 5 / 4;
  CONVKIT_CHECK(opt_.lr > 0, "LBFGS: lr must be positive, got ", opt_.lr);
  CONVKIT_CHECK(opt_.max_iter >= 1, "LBFGS: max_iter must be at least 1, got ", opt_.max_iter);
  CONVKIT_CHECK(opt_.history_size >= 1, "LBFGS: history_size must be at least 1, got ",
                opt_.history_size);
  const auto& ps = groups_[0].params;
  CONVKIT_CHECK(!ps.empty(), "LBFGS: no parameters to optimise");
  dtype_ = ps[0].dtype();
  for (size_t i = 0; i < ps.size(); ++i) {
    CONVKIT_CHECK(ps[i].dtype() == dtype_, "LBFGS: parameter ", i, " has dtype ",
                  dtype_name(ps[i].dtype()), " but parameter 0 has ", dtype_name(dtype_),
                  "; the flat vector needs one dtype");
    numel_ += ps[i].numel();
  }
}

void LBFGS::step() {
  throw Error(
      "LBFGS: step() needs a closure that re-evaluates the loss: call step(closure) (as "
      "torch.optim.LBFGS.step(closure))");
}

Tensor LBFGS::gather_flat_grad() const {
  Tensor flat = Tensor::zeros({numel_}, dtype_);
  int64_t offset = 0;
  for (const Tensor& p : groups_[0].params) {
    Tensor g = p.grad();
    if (g.defined()) flat.slice(offset, offset + p.numel()).copy_(g.reshape({p.numel()}));
    offset += p.numel();
  }
  return flat;
}

void LBFGS::add_to_params(double step_size, const Tensor& update) {
  int64_t offset = 0;
  for (Tensor& p : groups_[0].params) {
    Tensor view = p.detach().reshape({p.numel()});
    axpy(view, step_size, update.slice(offset, offset + p.numel()));
    offset += p.numel();
  }
}

std::vector<Tensor> LBFGS::clone_params() const {
  std::vector<Tensor> out;
  for (const Tensor& p : groups_[0].params) out.push_back(p.detach().clone());
  return out;
}

void LBFGS::set_params(const std::vector<Tensor>& values) {
  for (size_t i = 0; i < values.size(); ++i) groups_[0].params[i].detach().copy_(values[i]);
}

std::pair<double, Tensor> LBFGS::directional_evaluate(const Closure& closure,
                                                      const std::vector<Tensor>& x, double t,
                                                      const Tensor& d) {
  add_to_params(t, d);
  const double loss = closure();
  Tensor flat_grad = gather_flat_grad();
  set_params(x);
  return {loss, flat_grad};
}

// torch's _strong_wolfe (from torch/optim's lswolfe.lua) with c1 = 1e-4, c2 = 0.9, max_ls = 25:
// bracket a step satisfying the strong Wolfe conditions, then zoom in by cubic interpolation.
// Returns the loss at the chosen step t and leaves its gradient in flat_grad.
double LBFGS::strong_wolfe(const Closure& closure, double& t, const Tensor& d, double f,
                           Tensor& flat_grad, double gtd, int64_t& ls_func_evals) {
  constexpr double c1 = 1e-4, c2 = 0.9;
  constexpr int64_t max_ls = 25;
  const double tolerance_change = opt_.tolerance_change;
  const std::vector<Tensor> x = clone_params();
  const double d_norm = abs_max(d);
  const Tensor g = flat_grad.clone();
  auto [f_new, g_new] = directional_evaluate(closure, x, t, d);
  ls_func_evals = 1;
  double gtd_new = dot(g_new, d);

  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Tensor g_prev = g;
  bool done = false;
  int64_t ls_iter = 0;
  std::vector<double> bracket, bracket_f, bracket_gtd;
  std::vector<Tensor> bracket_g;
  while (ls_iter < max_ls) {
    if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {
      bracket = {t_prev, t};
      bracket_f = {f_prev, f_new};
      bracket_g = {g_prev, g_new.clone()};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {t};
      bracket_f = {f_new};
      bracket_g = {g_new};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {t_prev, t};
      bracket_f = {f_prev, f_new};
      bracket_g = {g_prev, g_new.clone()};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    // interpolate
    const double min_step = t + 0.01 * (t - t_prev);
    const double max_step = t * 10;
    const double tmp = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step);
    // next step
    t_prev = tmp;
    f_prev = f_new;
    g_prev = g_new.clone();
    gtd_prev = gtd_new;
    std::tie(f_new, g_new) = directional_evaluate(closure, x, t, d);
    ls_func_evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;
  }
  // reached max number of iterations? (torch leaves bracket_gtd unset: the zoom below cannot run)
  if (ls_iter == max_ls) {
    bracket = {0, t};
    bracket_f = {f, f_new};
    bracket_g = {g, g_new};
  }

  // zoom phase
  bool insuf_progress = false;
  size_t low_pos = bracket_f.front() <= bracket_f.back() ? 0 : 1;
  size_t high_pos = 1 - low_pos;
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                          bracket_gtd[1]);
    // Too close to an end of the bracket twice in a row (or outside it): move 10% of the bracket
    // away from the nearest end.
    const double hi = std::max(bracket[0], bracket[1]), lo = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (hi - lo);
    if (std::min(hi - t, t - lo) < eps) {
      if (insuf_progress || t >= hi || t <= lo) {
        t = std::abs(t - hi) < std::abs(t - lo) ? hi - eps : lo + eps;
        insuf_progress = false;
      } else {
        insuf_progress = true;
      }
    } else {
      insuf_progress = false;
    }
    std::tie(f_new, g_new) = directional_evaluate(closure, x, t, d);
    ls_func_evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;

    if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low_pos]) {
      // Armijo condition not satisfied or not lower than lowest point
      bracket[high_pos] = t;
      bracket_f[high_pos] = f_new;
      bracket_g[high_pos] = g_new.clone();
      bracket_gtd[high_pos] = gtd_new;
      low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
      high_pos = 1 - low_pos;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;  // Wolfe conditions satisfied
      } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
        // old high becomes new low
        bracket[high_pos] = bracket[low_pos];
        bracket_f[high_pos] = bracket_f[low_pos];
        bracket_g[high_pos] = bracket_g[low_pos];
        bracket_gtd[high_pos] = bracket_gtd[low_pos];
      }
      // new point becomes new low
      bracket[low_pos] = t;
      bracket_f[low_pos] = f_new;
      bracket_g[low_pos] = g_new.clone();
      bracket_gtd[low_pos] = gtd_new;
    }
  }
  t = bracket[low_pos];
  flat_grad = bracket_g[low_pos];
  return bracket_f[low_pos];
}

double LBFGS::step(const Closure& closure) {
  const double lr = groups_[0].lr;
  auto evaluate = [&] {
    autograd::set_grad_enabled(true);
    return closure();
  };
  const bool grad_was_on = autograd::grad_enabled();
  struct Restore {
    bool on;
    ~Restore() { autograd::set_grad_enabled(on); }
  } restore{grad_was_on};

  const double orig_loss = evaluate();
  double loss = orig_loss;
  int64_t current_evals = 1;
  func_evals_ += 1;

  Tensor flat_grad = gather_flat_grad();
  bool opt_cond = abs_max(flat_grad) <= opt_.tolerance_grad;
  if (opt_cond) return orig_loss;

  for (int64_t n_iter = 1; n_iter <= opt_.max_iter; ++n_iter) {
    n_iter_ += 1;
    // compute the descent direction
    if (n_iter_ == 1) {
      d_ = scaled(flat_grad, -1);
      old_dirs_.clear();
      old_stps_.clear();
      ro_.clear();
      h_diag_ = 1;
    } else {
      Tensor y = flat_grad.clone();
      axpy(y, -1, prev_flat_grad_);
      Tensor s = scaled(d_, t_);
      const double ys = dot(y, s);
      if (ys > 1e-10) {
        if (int64_t(old_dirs_.size()) == opt_.history_size) {
          old_dirs_.erase(old_dirs_.begin());
          old_stps_.erase(old_stps_.begin());
          ro_.erase(ro_.begin());
        }
        old_dirs_.push_back(y);
        old_stps_.push_back(s);
        ro_.push_back(1. / ys);
        h_diag_ = ys / dot(y, y);
      }
      // Two-loop recursion: q = -g through the history, newest first, then back, oldest first.
      const size_t num_old = old_dirs_.size();
      std::vector<double> al(num_old);
      Tensor q = scaled(flat_grad, -1);
      for (size_t k = num_old; k-- > 0;) {
        al[k] = dot(old_stps_[k], q) * ro_[k];
        axpy(q, -al[k], old_dirs_[k]);
      }
      d_ = scaled(q, h_diag_);
      for (size_t k = 0; k < num_old; ++k) {
        const double be_i = dot(old_dirs_[k], d_) * ro_[k];
        axpy(d_, al[k] - be_i, old_stps_[k]);
      }
    }
    prev_flat_grad_ = flat_grad.clone();
    prev_loss_ = loss;

    // step length
    t_ = n_iter_ == 1 ? std::min(1., 1. / abs_sum(flat_grad)) * lr : lr;
    const double gtd = dot(flat_grad, d_);
    if (gtd > -opt_.tolerance_change) break;

    int64_t ls_func_evals = 0;
    if (opt_.strong_wolfe) {
      loss = strong_wolfe(evaluate, t_, d_, loss, flat_grad, gtd, ls_func_evals);
      add_to_params(t_, d_);
      opt_cond = abs_max(flat_grad) <= opt_.tolerance_grad;
    } else {
      add_to_params(t_, d_);
      if (n_iter != opt_.max_iter) {
        // torch skips the evaluation after the last iteration (useless in a stochastic setting);
        // the next step() starts with one.
        loss = evaluate();
        flat_grad = gather_flat_grad();
        opt_cond = abs_max(flat_grad) <= opt_.tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals_ += ls_func_evals;

    // stopping conditions
    if (n_iter == opt_.max_iter) break;
    if (current_evals >= opt_.max_eval) break;
    if (opt_cond) break;
    if (abs_max(d_) * std::abs(t_) <= opt_.tolerance_change) break;
    if (std::abs(loss - prev_loss_) < opt_.tolerance_change) break;
  }
  return orig_loss;
}

std::map<std::string, Tensor> LBFGS::state() const {
  std::map<std::string, Tensor> out;
  out["n_iter"] = Tensor::full({}, double(n_iter_), DType::i64);
  out["func_evals"] = Tensor::full({}, double(func_evals_), DType::i64);
  if (!d_.defined()) return out;
  out["d"] = d_;
  out["prev_flat_grad"] = prev_flat_grad_;
  out["t"] = scalar_tensor(t_);
  out["H_diag"] = scalar_tensor(h_diag_);
  out["prev_loss"] = scalar_tensor(prev_loss_);
  for (size_t k = 0; k < old_dirs_.size(); ++k) {
    out["old_dirs." + std::to_string(k)] = old_dirs_[k];
    out["old_stps." + std::to_string(k)] = old_stps_[k];
    out["ro." + std::to_string(k)] = scalar_tensor(ro_[k]);
  }
  return out;
}

void LBFGS::load_state(const std::map<std::string, Tensor>& state) {
  auto get = [&](const std::string& key) -> const Tensor& {
    auto it = state.find(key);
    CONVKIT_CHECK(it != state.end(), "LBFGS: state has no '", key, "'");
    return it->second;
  };
  auto flat = [&](const std::string& key) {
    const Tensor& v = get(key);
    CONVKIT_CHECK(v.shape() == Shape({numel_}), "LBFGS: state '", key, "' has shape ",
                  v.shape().to_string(), " but the parameters hold ", numel_, " elements");
    return v.to(dtype_).clone();
  };
  n_iter_ = int64_t(get("n_iter").item());
  func_evals_ = int64_t(get("func_evals").item());
  old_dirs_.clear();
  old_stps_.clear();
  ro_.clear();
  d_ = Tensor();
  prev_flat_grad_ = Tensor();
  if (n_iter_ == 0) return;
  d_ = flat("d");
  prev_flat_grad_ = flat("prev_flat_grad");
  t_ = get("t").item();
  h_diag_ = get("H_diag").item();
  prev_loss_ = get("prev_loss").item();
  for (size_t k = 0; state.count("old_dirs." + std::to_string(k)); ++k) {
    CONVKIT_CHECK(int64_t(k) < opt_.history_size,
                  "LBFGS: state holds more than history_size = ", opt_.history_size, " pairs");
    old_dirs_.push_back(flat("old_dirs." + std::to_string(k)));
    old_stps_.push_back(flat("old_stps." + std::to_string(k)));
    ro_.push_back(get("ro." + std::to_string(k)).item());
  }
}

}  // namespace convkit::optim
