#pragma once
// Define-by-run, first-order reverse-mode autograd (docs/architecture.md, "Autograd").
//
// Each differentiable op that sees an input requiring grad (while grad mode is on) gives its output
// a Node: the inputs, and a backward function that maps the output's gradient to one gradient per
// input. Saved tensors live in the backward function's captures. backward() sorts the graph
// topologically and runs the nodes in reverse, summing gradients in one place (the engine).
// A graph lives exactly as long as some tensor refers to its output.
#include <functional>
#include <vector>

#include "convkit/tensor.h"

namespace convkit {

using TensorList = std::vector<Tensor>;

namespace autograd {

// grad_out: the gradient of the op's output; needs[i]: whether input i wants a gradient.
// Returns one gradient per input (undefined where not needed), each of the input's shape.
using BackwardFn =
    std::function<TensorList(const Tensor& grad_out, const std::vector<bool>& needs)>;

struct Node {
  const char* op;
  TensorList inputs;
  std::vector<bool> needs_grad;
  BackwardFn backward;
};

bool grad_enabled();
void set_grad_enabled(bool on);

// Gives `out` a Node when grad mode is on and any of `inputs` requires grad; no-op otherwise.
// Ops must not capture `out` itself in `fn` (that would be a reference cycle): save
// out.detach() instead.
void record(Tensor& out, const char* op, TensorList inputs, BackwardFn fn);

// Sees every op's value while set on this thread (anomaly detection, train/anomaly.h): the output
// of each op that calls record() (whether or not grad mode is on), with `backward` false, and each
// gradient a node's backward returns, with `backward` true and `input` its input number.
struct OpValue {
  const char* op;
  const Tensor& value;
  bool backward;
  size_t input;
};
using OpObserver = std::function<void(const OpValue&)>;
void set_op_observer(OpObserver observer);

// Runs backpropagation from roots with the given upstream gradients.
void backward(const TensorList& roots, const TensorList& grads);

// Gradients of `outputs` with respect to `inputs` (like torch.autograd.grad), without touching
// any tensor's .grad(). Inputs that the outputs do not depend on get zeros.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {});

}  // namespace autograd

// Disables graph recording in a scope (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  ~NoGradGuard() { autograd::set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace convkit
