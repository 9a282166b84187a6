// Mixed-precision convolutions (convkit/backend.h, ConvBf16Guard): forward, backward data and
// backward weights stay within bfloat16 rounding of float32 (and are not float32: the switch
// reaches the kernels), a grouped convolution included; the switch is scoped.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

bool cpu_has_avx512_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line.find(" avx512_bf16") != std::string::npos;
  return false;
}

struct Grads {
  Tensor y, dx, dw, db;
};

Grads run(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Conv2dParams& p,
          const Tensor& dy) {
  Tensor x = x0.clone().set_requires_grad(), w = w0.clone().set_requires_grad(),
         b = b0.clone().set_requires_grad();
  Tensor y = conv2d(x, w, b, p);
  sum(mul(y, dy)).backward();
  return {y, x.grad(), w.grad(), b.grad()};
}

TEST(ConvBf16, ForwardAndBothBackwardsStayWithinBfloat16Rounding) {
  if (backend() != Backend::dnnl) GTEST_SKIP() << "mixed precision runs on oneDNN";
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  struct Case {
    int64_t c, o, k, groups;
  };
  for (const Case& c : {Case{16, 32, 3, 1}, Case{32, 32, 3, 32}, Case{24, 48, 1, 1}}) {
    Generator gen(3);
    const Tensor x = Tensor::randn({8, c.c, 14, 14}, &gen);
    const Tensor w = Tensor::randn({c.o, c.c / c.groups, c.k, c.k}, &gen);
    const Tensor b = Tensor::randn({c.o}, &gen);
    Conv2dParams p;
    p.set_padding(c.k / 2);
    p.groups = c.groups;
    const Tensor dy = Tensor::randn({8, c.o, 14, 14}, &gen);
    const Grads f32 = run(x, w, b, p, dy);
    Grads bf;
    {
      const ConvBf16Guard on(true);
      EXPECT_TRUE(conv_bf16());
      bf = run(x, w, b, p, dy);
    }
    EXPECT_FALSE(conv_bf16());  // scoped
    const std::pair<const char*, std::pair<Tensor, Tensor>> pairs[] = {
        {"y", {bf.y, f32.y}}, {"dx", {bf.dx, f32.dx}}, {"dw", {bf.dw, f32.dw}}};
    for (const auto& [name, t] : pairs) {
      const double rel = test::relative_rms(t.first, t.second);
      // bfloat16 keeps 8 significant bits: each product is off by up to 2^-8 relative, and a sum
      // of many random-signed products by about that much of its root mean square.
      EXPECT_LT(rel, 1e-2) << name << " groups " << c.groups;
      EXPECT_GT(rel, 1e-5) << name << ": identical to float32, the switch did not reach the kernel";
    }
    // db sums the bfloat16 dy (in float32): rounded like the rest.
    EXPECT_LT(test::relative_rms(bf.db, f32.db), 1e-2);
  }
}

}  // namespace
}  // namespace convkit
