#pragma once
// L-BFGS (Nocedal 1980; Liu & Nocedal 1989) as torch.optim.LBFGS (PyTorch 1.13) implements it, so
// that both give the same iterates (tests/test_lbfgs.cpp checks them against PyTorch).
//
// All parameters are one flat vector x (the concatenation of every parameter, in order); g is the
// flat gradient (zeros for a parameter without one). One step(closure) runs up to max_iter
// iterations:
//   d = -H g, H the two-loop product of the last history_size pairs (s = t d, y = g' - g), kept
//       only when y.s > 1e-10, with the initial scale H0 = y.s / y.y; d = -g on the very first one;
//   t = lr, or min(1, 1 / sum|g|) * lr on the very first iteration;
//   without line search: x += t d, then one closure call (not after the last iteration);
//   with strong_wolfe: t from the strong-Wolfe search (c1 = 1e-4, c2 = 0.9, at most 25 calls,
//   cubic interpolation; torch's _strong_wolfe line for line), then x += t d.
// It stops early when max|g| <= tolerance_grad, g.d > -tolerance_change, max|t d| <=
// tolerance_change, |loss - previous loss| < tolerance_change, or max_eval closure calls were made.
// The history persists across step() calls, as torch's does.
//
// Memory: (2 * history_size + 3) copies of x, in the parameters' dtype (torch's cost).
#include <cstdint>
#include <functional>
#include <vector>

#include "convkit/optim/optimizer.h"

namespace convkit::optim {

struct LBFGSOptions {
  double lr = 1;
  int64_t max_iter = 20;           // iterations per step()
  int64_t max_eval = -1;           // closure calls per step(); max_iter * 5 / 4 when negative
  double tolerance_grad = 1e-7;    // stop when max|g| is at most this
  double tolerance_change = 1e-9;  // stop when the loss or the step changes less than this
  int64_t history_size = 100;      // (s, y) pairs kept
  bool strong_wolfe = false;       // torch's line_search_fn="strong_wolfe"; fixed step otherwise
};

class LBFGS : public Optimizer {
 public:
  // One group (torch refuses several too): float32 or float64 parameters, all of one dtype.
  // Throws convkit::Error naming the bad option or parameter.
  LBFGS(std::vector<Tensor> params, LBFGSOptions options = {});

  // Re-evaluates the objective: zeroes the gradients, computes the loss, calls backward() and
  // returns the loss (torch's closure). Called with grad mode on.
  using Closure = std::function<double()>;
  // Runs the iterations above; returns the loss of the first closure call (torch returns
  // orig_loss). Like torch it does not guard against a non-finite loss: callers that can diverge
  // check the loss and keep their last finite parameters (style/transfer.h does).
  double step(const Closure& closure);
  // Throws: L-BFGS needs to re-evaluate the objective, call step(closure).
  void step() override;

  int64_t func_evals() const { return func_evals_; }  // closure calls over every step()
  int64_t n_iter() const { return n_iter_; }          // iterations over every step()

  // "d", "t", "H_diag", "prev_flat_grad", "prev_loss", "n_iter", "func_evals", and the history
  // "old_dirs.<i>", "old_stps.<i>", "ro.<i>" (oldest first).
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  Tensor gather_flat_grad() const;
  void add_to_params(double step_size, const Tensor& direction);
  std::vector<Tensor> clone_params() const;
  void set_params(const std::vector<Tensor>& values);
  // Loss and flat gradient at x + t d, parameters restored to x afterwards.
  std::pair<double, Tensor> directional_evaluate(const Closure& closure,
                                                 const std::vector<Tensor>& x, double t,
                                                 const Tensor& d);
  double strong_wolfe(const Closure& closure, double& t, const Tensor& d, double loss,
                      Tensor& flat_grad, double gtd, int64_t& evals);

  LBFGSOptions opt_;
  DType dtype_ = DType::f32;
  int64_t numel_ = 0;
  // torch's state
  int64_t func_evals_ = 0, n_iter_ = 0;
  Tensor d_, prev_flat_grad_;
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
  std::vector<Tensor> old_dirs_, old_stps_;
  std::vector<double> ro_;
};

}  // namespace convkit::optim
