#pragma once
// Parameters frozen for a scope: gradients w.r.t. an input or a feature map (Grad-CAM, saliency,
// filter visualization) need no weight gradients, and frozen weights keep the graph from growing
// behind the tensor of interest. Restores exactly the parameters it froze.
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::viz::detail {

class FrozenParameters {
 public:
  explicit FrozenParameters(const nn::Module& model) {
    for (Tensor p : model.parameters())
      if (p.requires_grad()) {
        p.set_requires_grad(false);
        frozen_.push_back(p);
      }
  }
  ~FrozenParameters() {
    for (Tensor& p : frozen_) p.set_requires_grad(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Tensor> frozen_;
};

}  // namespace convkit::viz::detail
