#include "convkit/optim/adam.h"

#include <cmath>

#include "core/dispatch.h"
#include "optim/param_loop.h"

namespace convkit::optim {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(groups), decoupled ? "AdamW" : "Adam"),
      opt_(options),
      decoupled_(decoupled) {
  CONVKIT_CHECK(opt_.beta1 >= 0 && opt_.beta1 < 1 && opt_.beta2 >= 0 && opt_.beta2 < 1, name_,
                ": betas must lie in [0, 1), got (", opt_.beta1, ", ", opt_.beta2, ")");
  CONVKIT_CHECK(opt_.eps >= 0, name_, ": negative eps ", opt_.eps);
  for (const ParamGroup& g : groups_) {
    m_.emplace_back(g.params.size());
    v_.emplace_back(g.params.size());
    steps_.emplace_back(g.params.size(), 0);
  }
}

void Adam::step() {
  detail::for_each_param_with_grad(
      groups_, [&](size_t gi, size_t pi, ParamGroup& g, Tensor& p, const Tensor& grad) {
        if (!m_[gi][pi].defined()) {
          m_[gi][pi] = Tensor::zeros(p.shape(), p.dtype());
          v_[gi][pi] = Tensor::zeros(p.shape(), p.dtype());
        }
        const int64_t t = ++steps_[gi][pi];
        const double bc1 = 1 - std::pow(opt_.beta1, double(t));
        const double bc2 = 1 - std::pow(opt_.beta2, double(t));
        convkit::detail::dispatch_floating(p.dtype(), name_, [&]<class T>() {
          T* w = p.data<T>();
          const T* dg = grad.data<T>();
          T* m = m_[gi][pi].data<T>();
          T* v = v_[gi][pi].data<T>();
          const T b1 = T(opt_.beta1), b2 = T(opt_.beta2), eps = T(opt_.eps);
          const T step_size = T(g.lr / bc1), sqrt_bc2 = T(std::sqrt(bc2));
          const T l2 = decoupled_ ? T(0) : T(g.weight_decay);
          const T shrink = decoupled_ ? T(1 - g.lr * g.weight_decay) : T(1);
          for (int64_t i = 0; i < p.numel(); ++i) {
            T d = dg[i] + l2 * w[i];
            w[i] *= shrink;
            m[i] = b1 * m[i] + (1 - b1) * d;
            v[i] = b2 * v[i] + (1 - b2) * d * d;
            w[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
          }
        });
      });
}

std::map<std::string, Tensor> Adam::state() const {
  std::map<std::string, Tensor> out;
  for (size_t gi = 0; gi < m_.size(); ++gi)
    for (size_t pi = 0; pi < m_[gi].size(); ++pi) {
      if (!m_[gi][pi].defined()) continue;
      std::string k = std::to_string(gi) + "." + std::to_string(pi) + ".";
      out[k + "exp_avg"] = m_[gi][pi];
      out[k + "exp_avg_sq"] = v_[gi][pi];
      out[k + "step"] = Tensor::full({}, double(steps_[gi][pi]), DType::i64);
    }
  return out;
}

void Adam::load_state(const std::map<std::string, Tensor>& state) {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      std::string k = std::to_string(gi) + "." + std::to_string(pi) + ".";
      const Tensor& p = groups_[gi].params[pi];
      m_[gi][pi] = detail::load_slot(state, k + "exp_avg", p, name_);
      v_[gi][pi] = detail::load_slot(state, k + "exp_avg_sq", p, name_);
      CONVKIT_CHECK(m_[gi][pi].defined() == v_[gi][pi].defined(), name_, ": state '", k,
                    "' has only one of exp_avg and exp_avg_sq");
      auto it = state.find(k + "step");
      steps_[gi][pi] = it == state.end() ? 0 : int64_t(it->second.item());
      CONVKIT_CHECK(m_[gi][pi].defined() == (steps_[gi][pi] > 0), name_, ": state '", k,
                    "step' does not match the moment buffers");
    }
}

}  // namespace convkit::optim
