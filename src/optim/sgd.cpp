#include "convkit/optim/sgd.h"

#include <map>

#include "core/dispatch.h"
#include "optim/param_loop.h"

namespace convkit::optim {

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), "SGD"), opt_(options) {
  CONVKIT_CHECK(opt_.momentum >= 0, "SGD: negative momentum ", opt_.momentum);
  CONVKIT_CHECK(!opt_.nesterov || (opt_.momentum > 0 && opt_.dampening == 0),
                "SGD: nesterov needs momentum > 0 and dampening 0 (momentum ", opt_.momentum,
                ", dampening ", opt_.dampening, ")");
  for (const ParamGroup& g : groups_) momentum_.emplace_back(g.params.size());
}

void SGD::step() {
  detail::for_each_param_with_grad(
      groups_, [&](size_t gi, size_t pi, ParamGroup& g, Tensor& p, const Tensor& grad) {
        Tensor& buf = momentum_[gi][pi];
        const bool first = !buf.defined();
        if (opt_.momentum != 0 && first) buf = Tensor::empty(p.shape(), p.dtype());
        convkit::detail::dispatch_floating(p.dtype(), name_, [&]<class T>() {
          T* w = p.data<T>();
          const T* dg = grad.data<T>();
          T* b = opt_.momentum != 0 ? buf.data<T>() : nullptr;
          const T lr = T(g.lr), wd = T(g.weight_decay), mom = T(opt_.momentum),
                  damp = T(1 - opt_.dampening);
          const int64_t n = p.numel();
          for (int64_t i = 0; i < n; ++i) {
            T d = dg[i] + wd * w[i];
            if (b) {
              b[i] = first ? d : mom * b[i] + damp * d;
              d = opt_.nesterov ? d + mom * b[i] : b[i];
            }
            w[i] -= lr * d;
          }
        });
      });
}

std::map<std::string, Tensor> SGD::state() const {
  std::map<std::string, Tensor> out;
  for (size_t gi = 0; gi < momentum_.size(); ++gi)
    for (size_t pi = 0; pi < momentum_[gi].size(); ++pi)
      if (momentum_[gi][pi].defined())
        out[std::to_string(gi) + "." + std::to_string(pi) + ".momentum_buffer"] = momentum_[gi][pi];
  return out;
}

void SGD::load_state(const std::map<std::string, Tensor>& state) {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
      momentum_[gi][pi] = detail::load_slot(
          state, std::to_string(gi) + "." + std::to_string(pi) + ".momentum_buffer",
          groups_[gi].params[pi], "SGD");
}

}  // namespace convkit::optim
