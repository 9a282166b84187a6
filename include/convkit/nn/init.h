#pragma once
// Weight initializers, in place and outside autograd, as torch.nn.init (same formulas, same names).
// Fans of a weight [out, in, kh, kw]: fan_in = in*kh*kw, fan_out = out*kh*kw (Linear: kh=kw=1).
#include "convkit/random.h"
#include "convkit/tensor.h"

namespace convkit::nn::init {

enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
enum class FanMode { fan_in, fan_out };

struct Fans {
  int64_t fan_in, fan_out;
};
// Throws for tensors of rank < 2, naming the shape.
Fans compute_fans(const Tensor& w);
// Recommended gain: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2) (relu),
// sqrt(2 / (1 + slope^2)) (leaky_relu), 3/4 (selu).
double calculate_gain(Nonlinearity f, double param = 0.01);

void constant_(Tensor& t, double value);
void uniform_(Tensor& t, double lo, double hi, Generator* gen = nullptr);
void normal_(Tensor& t, double mean, double std, Generator* gen = nullptr);
// Glorot & Bengio 2010: U(-a, a), a = gain*sqrt(6/(fan_in+fan_out)); N(0,
// gain*sqrt(2/(fan_in+fan_out))).
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
void xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// He et al. 2015: std = gain/sqrt(fan), gain from nonlinearity (a = negative slope for leaky_relu);
// uniform bound = sqrt(3)*std.
void kaiming_uniform_(Tensor& t, double a = 0, FanMode mode = FanMode::fan_in,
                      Nonlinearity f = Nonlinearity::leaky_relu, Generator* gen = nullptr);
void kaiming_normal_(Tensor& t, double a = 0, FanMode mode = FanMode::fan_in,
                     Nonlinearity f = Nonlinearity::leaky_relu, Generator* gen = nullptr);

// PyTorch's default for Conv2d and Linear (reset_parameters): weight kaiming_uniform_(a=sqrt(5)),
// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void torch_default_(Tensor& weight, Tensor* bias, Generator* gen = nullptr);

// While one is alive on this thread, the random initializers fill zeros and draw nothing: for
// models whose weights are about to be overwritten (a checkpoint, a state dict) or never read
// (parameter counting, shape checks), where drawing 100M+ numbers is most of the construction time.
// constant_ is unaffected, so BN's weight of 1 stays 1.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;
  static bool active();

 private:
  bool previous_;
};

}  // namespace convkit::nn::init
