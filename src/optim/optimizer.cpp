#include "convkit/optim/optimizer.h"

#include <cmath>

#include "convkit/nn/module.h"

namespace convkit::optim {

Optimizer::Optimizer(std::vector<ParamGroup> groups, const char* name)
    : groups_(std::move(groups)), name_(name) {
  CONVKIT_CHECK(!groups_.empty(), name_, ": no parameter groups");
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& grp = groups_[g];
    CONVKIT_CHECK(grp.lr >= 0, name_, ": group ", g, " has negative learning rate ", grp.lr);
    CONVKIT_CHECK(grp.weight_decay >= 0, name_, ": group ", g, " has negative weight decay ",
                  grp.weight_decay);
    if (grp.initial_lr < 0) grp.initial_lr = grp.lr;
    for (const Tensor& p : grp.params)
      CONVKIT_CHECK(p.defined() && is_floating(p.dtype()), name_, ": group ", g,
                    " holds a parameter that is not a floating tensor");
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) p.zero_grad();
}

std::vector<ParamGroup> single_group(const nn::Module& model, double lr, double weight_decay) {
  ParamGroup g;
  for (const Tensor& p : model.parameters())
    if (p.requires_grad()) g.params.push_back(p);
  g.lr = lr;
  g.weight_decay = weight_decay;
  return {g};
}

std::vector<ParamGroup> groups_no_decay_on_bias_and_bn(const nn::Module& model, double lr,
                                                       double weight_decay) {
  ParamGroup decay, no_decay;
  for (const Tensor& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    (p.ndim() >= 2 ? decay : no_decay).params.push_back(p);
  }
  decay.lr = no_decay.lr = lr;
  decay.weight_decay = weight_decay;
  return {decay, no_decay};
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double sq = 0;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor gd = g.to(DType::f64);
    const double* pg = gd.data<double>();
    for (int64_t i = 0; i < gd.numel(); ++i) sq += pg[i] * pg[i];
  }
  double norm = std::sqrt(sq);
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (g.dtype() == DType::f32) {
        float* pg = g.data<float>();
        for (int64_t i = 0; i < g.numel(); ++i) pg[i] = float(pg[i] * coef);
      } else {
        double* pg = g.data<double>();
        for (int64_t i = 0; i < g.numel(); ++i) pg[i] *= coef;
      }
    }
  }
  return norm;
}

}  // namespace convkit::optim
