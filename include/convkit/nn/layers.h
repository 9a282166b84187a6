#pragma once
// The standard layers, each a thin Module over one op (include/convkit/ops/*.h). Parameter names
// and default initializations equal torch.nn's, so torchvision state dicts load unchanged.
#include <functional>
#include <memory>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/ops/conv.h"
#include "convkit/ops/pool.h"
#include "convkit/random.h"

namespace convkit::nn {

struct Conv2dOptions {
  int64_t in_channels, out_channels, kernel_h, kernel_w;
  Conv2dParams params;
  bool bias = true;
  Conv2dOptions(int64_t in, int64_t out, int64_t k) : Conv2dOptions(in, out, k, k) {}
  Conv2dOptions(int64_t in, int64_t out, int64_t kh, int64_t kw)
      : in_channels(in), out_channels(out), kernel_h(kh), kernel_w(kw) {}
  Conv2dOptions& stride(int64_t s) {
    params.set_stride(s);
    return *this;
  }
  Conv2dOptions& padding(int64_t p) {
    params.set_padding(p);
    return *this;
  }
  Conv2dOptions& padding(int64_t h, int64_t w) {
    params.set_padding(h, w);
    return *this;
  }
  Conv2dOptions& same() {
    params.same();
    return *this;
  }
  Conv2dOptions& valid() {
    params.valid();
    return *this;
  }
  Conv2dOptions& dilation(int64_t d) {
    params.set_dilation(d);
    return *this;
  }
  Conv2dOptions& groups(int64_t g) {
    params.set_groups(g);
    return *this;
  }
  Conv2dOptions& with_bias(bool on) {
    bias = on;
    return *this;
  }
};

// weight [out, in/groups, kh, kw], bias [out]; PyTorch's default init (kaiming_uniform_(a=sqrt 5)).
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& o, Generator* gen = nullptr);
  Conv2d(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t padding = 0,
         bool bias = true)
      : Conv2d(Conv2dOptions(in, out, k).stride(stride).padding(padding).with_bias(bias)) {}
  Tensor forward(const Tensor& x) override;
  int64_t macs(const Shape& in, const Shape& out) const override;
  std::string extra_repr() const override;
  const Conv2dOptions& options() const { return opt_; }
  Tensor weight, bias;

 private:
  Conv2dOptions opt_;
};

// y = x W^T + b; weight [out, in], bias [out].
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  int64_t macs(const Shape& in, const Shape& out) const override;
  std::string extra_repr() const override;
  int64_t in_features, out_features;
  Tensor weight, bias;
};

// Batch normalization over channels of [N, C, H, W] (or [N, C]); weight=1, bias=0,
// running_mean=0, running_var=1, num_batches_tracked (as torchvision's state dicts carry it).
// affine=false: neither weight nor bias. scale=false: bias (beta) only, as Keras'
// BatchNormalization(scale=False) where a ReLU follows, which makes gamma redundant.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1,
                       bool affine = true, bool scale = true);
  Tensor forward(const Tensor& x) override;
  int64_t macs(const Shape& in, const Shape& out) const override;
  std::string extra_repr() const override;
  int64_t channels;
  double eps, momentum;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  // Replaces the training-mode normalization when set: dist::convert_sync_batch_norm sets one
  // whose statistics cover every rank's batch (synchronized batch norm). Null: this batch's.
  std::function<Tensor(BatchNorm2d& self, const Tensor& x)> training_norm;

 protected:
  // Frozen batch norm normalizes with its running statistics and leaves them alone.
  bool stays_in_eval_when_frozen() const override { return true; }
};
using BatchNorm1d = BatchNorm2d;  // same op on [N, C]

class LocalResponseNorm : public Module {
 public:
  explicit LocalResponseNorm(int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t size;
  double alpha, beta, k;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dParams p) : Module("MaxPool2d"), params(p) {}
  MaxPool2d(int64_t k, int64_t s) : MaxPool2d(Pool2dParams(k, s)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dParams params;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dParams p) : Module("AvgPool2d"), params(p) {}
  AvgPool2d(int64_t k, int64_t s) : AvgPool2d(Pool2dParams(k, s)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dParams params;
};

// [N, C, H, W] -> [N, C, 1, 1] (keep_dims) or [N, C].
class GlobalAvgPool2d : public Module {
 public:
  explicit GlobalAvgPool2d(bool flatten = true) : Module("GlobalAvgPool2d"), flatten(flatten) {}
  Tensor forward(const Tensor& x) override;
  bool flatten;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t h, int64_t w) : Module("AdaptiveAvgPool2d"), out_h(h), out_w(w) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t out_h, out_w;
};

// Inverted dropout, active in training mode only. Uses default_generator() unless given one.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr) : Module("Dropout"), p(p), gen(gen) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
  Generator* gen;
};

// [N, d1, d2, ...] -> [N, d1*d2*...].
class Flatten : public Module {
 public:
  Flatten() : Module("Flatten") {}
  Tensor forward(const Tensor& x) override { return x.flatten(1); }
};

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};
class ReLU6 : public Module {
 public:
  ReLU6() : Module("ReLU6") {}
  Tensor forward(const Tensor& x) override;
};
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : Module("LeakyReLU"), slope(slope) {}
  Tensor forward(const Tensor& x) override;
  double slope;
};
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : Module("ELU"), alpha(alpha) {}
  Tensor forward(const Tensor& x) override;
  double alpha;
};
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};
class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
};

// Children "0", "1", ... applied in order.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> layers);
  // Appends under the next index; returns the layer for chaining with its type.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer) {
    register_module(std::to_string(size_++), layer);
    return layer;
  }
  // Appends under an explicit name (e.g. torchvision's "features", "classifier" children).
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> layer) {
    register_module(name, layer);
    ++size_;
    return layer;
  }
  Tensor forward(const Tensor& x) override;
  int64_t size() const { return size_; }

 private:
  int64_t size_ = 0;
};

}  // namespace convkit::nn
