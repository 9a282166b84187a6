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

std::vector<ParamGroup> param_groups(const nn::Module& model, const GroupOptions& o) {
  const size_t n_rates = o.lr_mult.size() + 1;  // slot 0: the base rate
  std::vector<ParamGroup> slots(2 * n_rates);   // [rate][decayed? 0 : 1]
  for (size_t r = 0; r < n_rates; ++r) {
    const double mult = r == 0 ? 1.0 : o.lr_mult[r - 1].second;
    CONVKIT_CHECK(mult >= 0, "lr multiplier for '", o.lr_mult[r - 1].first, "' must be >= 0, got ",
                  mult);
    for (int d = 0; d < 2; ++d) {
      slots[2 * r + d].lr = o.lr * mult;
      slots[2 * r + d].weight_decay = d == 0 ? o.weight_decay : 0.0;
    }
  }
  std::vector<int> trainable_hits(o.lr_mult.size(), 0), frozen_hits(o.lr_mult.size(), 0);
  for (const auto& [name, p] : model.named_parameters()) {
    size_t rate = 0, best_len = 0;
    for (size_t i = 0; i < o.lr_mult.size(); ++i) {
      const std::string& prefix = o.lr_mult[i].first;
      if (!nn::has_prefix(name, prefix)) continue;
      (p.requires_grad() ? trainable_hits : frozen_hits)[i]++;
      if (rate == 0 || prefix.size() > best_len) rate = i + 1, best_len = prefix.size();
    }
    if (!p.requires_grad()) continue;
    const bool decayed = !o.no_decay_on_bias_and_bn || p.ndim() >= 2;
    slots[2 * rate + (decayed ? 0 : 1)].params.push_back(p);
  }
  for (size_t i = 0; i < o.lr_mult.size(); ++i)
    CONVKIT_CHECK(trainable_hits[i] > 0, "lr multiplier: no trainable parameter name starts with '",
                  o.lr_mult[i].first, "'",
                  frozen_hits[i] ? " (it matches only frozen parameters)" : "");
  std::vector<ParamGroup> groups;
  for (ParamGroup& g : slots)
    if (!g.params.empty()) groups.push_back(std::move(g));
  CONVKIT_CHECK(!groups.empty(), "param_groups: the model has no trainable parameter");
  return groups;
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
