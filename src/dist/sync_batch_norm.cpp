#include "convkit/dist/sync_batch_norm.h"

#include "convkit/autograd.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/reduce.h"

namespace convkit::dist {

namespace {
void allreduce_in_place(Tensor& t, Communicator& comm, const std::string& what) {
  if (t.dtype() == DType::f64)
    comm.allreduce_sum(t.data<double>(), t.numel(), what);
  else
    comm.allreduce_sum(t.data<float>(), t.numel(), what);
}
}  // namespace

Tensor allreduce_sum(const Tensor& x, const CommunicatorPtr& comm, const std::string& what) {
  CONVKIT_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, what, ": all-reduce of a ",
                dtype_name(x.dtype()), " tensor; f32 or f64 only");
  Tensor y = x.detach().clone();
  allreduce_in_place(y, *comm, what);
  autograd::record(y, "allreduce_sum", {x},
                   [comm, what](const Tensor& g, const std::vector<bool>&) {
                     Tensor dx = g.detach().clone();
                     allreduce_in_place(dx, *comm, what + " (backward)");
                     return TensorList{dx};
                   });
  return y;
}

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, double momentum, double eps,
                       const CommunicatorPtr& comm) {
  CONVKIT_CHECK(x.ndim() == 4 || x.ndim() == 2,
                "sync_batch_norm: expected [N, C, H, W] or [N, C], got ", x.shape().to_string());
  const int64_t c = x.size(1);
  const std::vector<int> dims = x.ndim() == 4 ? std::vector<int>{0, 2, 3} : std::vector<int>{0};
  Shape per_channel = x.ndim() == 4 ? Shape({1, c, 1, 1}) : Shape({1, c});
  double m = double(x.numel() / std::max<int64_t>(c, 1));
  comm->allreduce_sum(&m, 1, "sync batch norm: the values per channel");
  CONVKIT_CHECK(m > 1, "sync_batch_norm: one value per channel over all ranks (input ",
                x.shape().to_string(), "); the variance needs two");

  const Tensor mean =
      mul(allreduce_sum(sum(x, dims, true), comm, "sync batch norm: channel sums"), 1.0 / m);
  const Tensor centered = sub(x, mean);
  const Tensor var = mul(allreduce_sum(sum(mul(centered, centered), dims, true), comm,
                                       "sync batch norm: channel variances"),
                         1.0 / m);
  Tensor y = div(centered, sqrt(add(var, eps)));
  if (weight.defined()) y = mul(y, weight.reshape(per_channel));
  if (bias.defined()) y = add(y, bias.reshape(per_channel));
  if (running_mean.defined()) {
    NoGradGuard no_grad;
    const Tensor mu = mean.detach().reshape({c}).to(running_mean.dtype());
    const Tensor unbiased = mul(var.detach().reshape({c}), m / (m - 1)).to(running_var.dtype());
    running_mean.copy_(add(mul(running_mean, 1 - momentum), mul(mu, momentum)));
    running_var.copy_(add(mul(running_var, 1 - momentum), mul(unbiased, momentum)));
  }
  return y;
}

int convert_sync_batch_norm(nn::Module& model, const CommunicatorPtr& comm) {
  int converted = 0;
  for (auto& [path, m] : model.named_modules()) {
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(m);
    if (!bn) continue;
    bn->training_norm = [comm](nn::BatchNorm2d& self, const Tensor& x) {
      return sync_batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
                             self.momentum, self.eps, comm);
    };
    ++converted;
  }
  return converted;
}

}  // namespace convkit::dist
