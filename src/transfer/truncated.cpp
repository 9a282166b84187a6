#include "convkit/transfer/truncated.h"

#include <algorithm>

#include "convkit/autograd.h"
#include "convkit/ops/pool.h"

namespace convkit::transfer {

namespace {
// Thrown by the hook on the cut layer to leave the base's forward early. Not a convkit::Error, so
// Module::operator() passes it through unannotated; Truncated::forward catches it.
struct CutReached {
  Tensor output;
};

// Runs `base` on x and returns the output of the module at `layer`.
Tensor run_to_cut(nn::Module& base, const std::string& layer, const Tensor& x) {
  nn::HookHandle cut = nn::register_forward_hook(
      base, layer,
      [](nn::Module&, const nn::TensorList&, nn::TensorList& out) { throw CutReached{out.at(0)}; });
  try {
    base(x);
  } catch (CutReached& reached) {
    return reached.output;
  }
  throw Error("transfer: layer '" + layer + "' of " + base.type_name() +
              " did not run in its forward, so the base cannot be cut there; pick a module that "
              "the forward calls (convkit summary lists them)");
}
}  // namespace

Truncated::Truncated(std::shared_ptr<nn::Module> base, std::string layer,
                     const Shape& example_shape, bool pool)
    : nn::Module("Truncated"), base_(std::move(base)), layer_(std::move(layer)), pool_(pool) {
  CONVKIT_CHECK(!layer_.empty(), "transfer: the layer to cut ", base_->type_name(),
                " at is empty; name a module by its dotted path (e.g. 'avgpool')");
  base_->child(layer_);  // throws naming the path and the children that exist
  for (const auto& [name, p] : base_->named_parameters())
    CONVKIT_CHECK(name.find('.') != std::string::npos, "transfer: ", base_->type_name(),
                  " holds parameter '", name,
                  "' directly (not in a child module), which a cut base cannot keep");

  // The probe: which top-level children run before the cut, in call order.
  std::vector<std::string> order;
  std::vector<nn::HookHandle> hooks;
  for (const auto& [name, child] : base_->named_children())
    hooks.push_back(
        child->register_forward_pre_hook([&order, name = name](nn::Module&, nn::TensorList&) {
          if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
        }));
  std::vector<int64_t> dims{1};
  dims.insert(dims.end(), example_shape.begin(), example_shape.end());
  const bool was_training = base_->is_training();
  base_->eval();
  Tensor probe_out;
  {
    NoGradGuard no_grad;
    probe_out = run_to_cut(*base_, layer_, Tensor::zeros(Shape(dims)));
  }
  base_->train(was_training);
  hooks.clear();
  feature_shape_ =
      Shape(std::vector<int64_t>(probe_out.shape().begin() + 1, probe_out.shape().end()));
  if (pool_) {
    CONVKIT_CHECK(feature_shape_.ndim() == 3, "transfer: layer '", layer_, "' of ",
                  base_->type_name(), " gives ", feature_shape_.to_string(),
                  " per example, not a feature map [C, H, W] to average over its positions; "
                  "cut at a convolutional layer, or keep its output as it is (no pooling)");
    feature_shape_ = Shape{feature_shape_[0]};
  }

  for (const std::string& name : order) {
    std::shared_ptr<nn::Module> child = register_module(name, base_->child(name));
    if (child->num_parameters() > 0) blocks_.push_back(name);
  }
}

Tensor Truncated::forward(const Tensor& x) {
  Tensor out = run_to_cut(*base_, layer_, x);
  if (!pool_) return out;
  return global_avg_pool2d(out).flatten();
}

}  // namespace convkit::transfer
