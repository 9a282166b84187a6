#pragma once
#include "convkit/optim/optimizer.h"

namespace convkit::optim {

struct SGDOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
};

// torch.optim.SGD: d = g + wd*p; buf = momentum*buf + (1-dampening)*d (buf = d on the first step);
// d = nesterov ? d + momentum*buf : buf; p -= lr*d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  SGDOptions opt_;
  std::vector<std::vector<Tensor>> momentum_;  // [group][param], undefined until first step
};

}  // namespace convkit::optim
