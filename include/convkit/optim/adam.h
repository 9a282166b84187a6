#pragma once
#include "convkit/optim/optimizer.h"

namespace convkit::optim {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// torch.optim.Adam (decoupled = false: L2 decay added to the gradient) and torch.optim.AdamW
// (decoupled = true: p *= 1 - lr*wd before the update), Kingma & Ba 2015, Loshchilov & Hutter 2019.
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {},
       bool decoupled_weight_decay = false);
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  AdamOptions opt_;
  bool decoupled_;
  std::vector<std::vector<Tensor>> m_, v_;
  std::vector<std::vector<int64_t>> steps_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {})
      : Adam(std::move(groups), options, true) {}
};

}  // namespace convkit::optim
