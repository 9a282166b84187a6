// The autograd engine: record() builds the graph as ops run; backward() walks it in reverse
// topological order. Gradients are summed here and only here.
#include <unordered_map>
#include <unordered_set>

#include "convkit/autograd.h"
#include "convkit/ops/elementwise.h"

namespace convkit::autograd {

namespace {
thread_local bool g_grad_enabled = true;
thread_local OpObserver g_op_observer;

using Impl = detail::TensorImpl;

// Tensors reachable from the roots through grad_fn edges, outputs before inputs.
std::vector<Impl*> topological_order(const TensorList& roots) {
  std::vector<Impl*> post;  // post-order: inputs before outputs
  std::unordered_set<Impl*> seen;
  std::vector<std::pair<Impl*, size_t>> stack;  // iterative DFS: deep nets must not overflow
  for (const Tensor& r : roots) {
    Impl* ri = r.impl_ptr().get();
    if (!ri->requires_grad || !seen.insert(ri).second) continue;
    stack.push_back({ri, 0});
    while (!stack.empty()) {
      auto& [t, next] = stack.back();
      Node* node = t->grad_fn.get();
      if (node && next < node->inputs.size()) {
        const Tensor& in = node->inputs[next++];
        Impl* ii = in.defined() ? in.impl_ptr().get() : nullptr;
        if (ii && ii->requires_grad && seen.insert(ii).second) stack.push_back({ii, 0});
      } else {
        post.push_back(t);
        stack.pop_back();
      }
    }
  }
  return {post.rbegin(), post.rend()};
}

void accumulate(std::unordered_map<Impl*, Tensor>& grads, Impl* t, const Tensor& g) {
  auto [it, fresh] = grads.try_emplace(t, g);
  if (!fresh) it->second = add(it->second, g);
}

void check_grad_shape(const Node& node, size_t i, const Tensor& g) {
  const Tensor& in = node.inputs[i];
  CONVKIT_CHECK(g.shape() == in.shape(), "autograd: backward of ", node.op,
                " returned a gradient of", " shape ", g.shape().to_string(), " for input ", i,
                " of shape ", in.shape().to_string());
}

// Runs the reverse sweep; `sink(t, g)` receives the final gradient of every tensor that needs one.
template <class Sink>
void run(const TensorList& roots, const TensorList& root_grads, Sink&& sink) {
  CONVKIT_CHECK(roots.size() == root_grads.size(), "backward: ", roots.size(), " roots but ",
                root_grads.size(), " gradients");
  NoGradGuard no_grad;  // first order only: the backward pass records nothing
  std::unordered_map<Impl*, Tensor> grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    CONVKIT_CHECK(roots[i].requires_grad(), "backward: tensor ", i, " (shape ",
                  roots[i].shape().to_string(), ") does not require grad; set requires_grad on an ",
                  "input or parameter it depends on");
    CONVKIT_CHECK(root_grads[i].shape() == roots[i].shape(), "backward: gradient shape ",
                  root_grads[i].shape().to_string(), " does not match output shape ",
                  roots[i].shape().to_string());
    accumulate(grads, roots[i].impl_ptr().get(), root_grads[i].to(roots[i].dtype()));
  }
  for (Impl* t : topological_order(roots)) {
    auto it = grads.find(t);
    if (it == grads.end()) continue;
    Tensor g = std::move(it->second);
    grads.erase(it);
    for (const GradHook& hook : t->hooks) {
      Tensor replaced = hook(g);
      if (replaced.defined()) {
        CONVKIT_CHECK(
            replaced.shape() == g.shape(), "autograd: a hook returned a gradient of shape ",
            replaced.shape().to_string(), " for a tensor of shape ", g.shape().to_string());
        g = replaced;
      }
    }
    sink(t, g);
    Node* node = t->grad_fn.get();
    if (!node) continue;
    TensorList in_grads = node->backward(g, node->needs_grad);
    CONVKIT_CHECK(in_grads.size() == node->inputs.size(), "autograd: backward of ", node->op,
                  " returned ", in_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      if (!node->needs_grad[i] || !in_grads[i].defined()) continue;
      check_grad_shape(*node, i, in_grads[i]);
      if (g_op_observer) g_op_observer({node->op, in_grads[i], /*backward=*/true, i});
      accumulate(grads, node->inputs[i].impl_ptr().get(), in_grads[i]);
    }
  }
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

void set_op_observer(OpObserver observer) { g_op_observer = std::move(observer); }

void record(Tensor& out, const char* op, TensorList inputs, BackwardFn fn) {
  if (g_op_observer) g_op_observer({op, out, /*backward=*/false, 0});
  if (!g_grad_enabled) return;
  std::vector<bool> needs(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    needs[i] = inputs[i].defined() && inputs[i].requires_grad();
    any = any || needs[i];
  }
  if (!any) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->needs_grad = std::move(needs);
  node->backward = std::move(fn);
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
}

void backward(const TensorList& roots, const TensorList& grads) {
  run(roots, grads, [](Impl* t, const Tensor& g) {
    if (t->grad_fn && !t->retains_grad) return;
    // A fresh tensor: .grad() never aliases a gradient that another tensor's backward still uses.
    t->grad = (t->grad ? add(Tensor(t->grad), g) : g.clone().detach()).impl_ptr();
  });
}

TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs) {
  TensorList gouts = grad_outputs;
  if (gouts.empty()) {
    for (const Tensor& o : outputs) {
      CONVKIT_CHECK(o.numel() == 1, "autograd::grad: output of shape ", o.shape().to_string(),
                    " is not a scalar; pass grad_outputs");
      gouts.push_back(Tensor::ones(o.shape(), o.dtype()));
    }
  }
  std::unordered_map<Impl*, Tensor> wanted;
  for (const Tensor& in : inputs) {
    CONVKIT_CHECK(in.requires_grad(), "autograd::grad: an input (shape ", in.shape().to_string(),
                  ") does not require grad");
    wanted.emplace(in.impl_ptr().get(), Tensor());
  }
  run(outputs, gouts, [&](Impl* t, const Tensor& g) {
    auto it = wanted.find(t);
    if (it != wanted.end()) it->second = g;
  });
  TensorList result;
  for (const Tensor& in : inputs) {
    Tensor g = wanted[in.impl_ptr().get()];
    result.push_back(g.defined() ? g : Tensor::zeros(in.shape(), in.dtype()));
  }
  return result;
}

}  // namespace convkit::autograd
