#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>

#include "kernels/dnnl/pool.h"
#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {
// Distinct values 0.1 apart in a seeded random order: no ties in any window, so the max is
// differentiable and central differences (eps 1e-6) never cross a switch of argmax.
Tensor distinct_var(const Shape& shape, uint64_t seed) {
  std::vector<double> v(shape.numel());
  std::iota(v.begin(), v.end(), 0.0);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  for (double& e : v) e = 0.1 * e - 0.05 * double(v.size());
  return Tensor::from_vector<double>(v, shape).set_requires_grad(true);
}

struct PoolCase {
  Shape x;
  Pool2dParams p;
};

// Every geometry PyTorch distinguishes: disjoint, overlapping (3x3/2 as in AlexNet/ResNet),
// padding, ceil_mode with and without a clipped last window, rectangular, stride 1.
std::vector<PoolCase> pool_cases() {
  return {
      {{2, 3, 6, 7}, Pool2dParams(2)},
      {{1, 2, 7, 7}, Pool2dParams(3, 2)},
      {{1, 2, 8, 6}, Pool2dParams(3, 2).set_padding(1)},
      {{1, 2, 8, 6}, Pool2dParams(3, 2).set_padding(1).set_ceil_mode(true)},
      {{1, 1, 5, 5}, Pool2dParams(2).set_ceil_mode(true)},
      {{1, 2, 5, 5}, Pool2dParams(2).set_padding(1).set_ceil_mode(true)},
      {{2, 1, 7, 6}, Pool2dParams(2, 3, 1, 2).set_padding(1, 1)},
      {{1, 2, 6, 5}, Pool2dParams(3, 1).set_padding(1)},
  };
}

Pool2dParams with_include_pad(Pool2dParams p, bool on) { return p.set_count_include_pad(on); }
}  // namespace

TEST(Pool, OutputSizeRule) {
  EXPECT_EQ(pool_output_size(7, 2, 2, 0, false), 3);
  EXPECT_EQ(pool_output_size(7, 2, 2, 0, true), 4);
  EXPECT_EQ(pool_output_size(8, 3, 2, 1, false), 4);
  EXPECT_EQ(pool_output_size(8, 3, 2, 1, true), 5);
  // ceil((5 + 2 - 2) / 2) + 1 = 4, but window 3 would start at 6 = n + p (all padding): 3.
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, true), 3);
  EXPECT_EQ(pool_output_size(112, 3, 2, 1, false), 56);
  EXPECT_THROW_WITH(pool_output_size(5, 3, 1, 2, false, "my_pool"), "my_pool", "padding 2",
                    "half the kernel 3");
  EXPECT_THROW_WITH(pool_output_size(2, 5, 1, 0, false), "kernel 5", "padded input 2");
  EXPECT_THROW_WITH(pool_output_size(5, 2, 0, 0, false), "stride 0");
}

TEST(Pool, MaxValuesByHand) {
  Tensor x = Tensor::arange(16).reshape({1, 1, 4, 4});
  Tensor y = max_pool2d(x, 2);
  ASSERT_EQ(y.shape(), Shape({1, 1, 2, 2}));
  EXPECT_EQ(y.at({0, 0, 0, 0}), 5.0);
  EXPECT_EQ(y.at({0, 0, 1, 1}), 15.0);
  // 3x3 stride 2 pad 1 on 4x4: output 2x2; the corner window covers rows/cols 0..1 only.
  Tensor z = max_pool2d(mul(x, -1.0), Pool2dParams(3, 2).set_padding(1));
  ASSERT_EQ(z.shape(), Shape({1, 1, 2, 2}));
  EXPECT_EQ(z.at({0, 0, 0, 0}), 0.0);   // padding never wins, even against negatives
  EXPECT_EQ(z.at({0, 0, 1, 1}), -5.0);  // rows/cols 1..3
}

TEST(Pool, MaxGradientGoesToFirstMaximum) {
  // A constant plane: every tap ties; PyTorch routes each window's gradient to its first tap.
  // float32 runs the suite's backend (dnnl's workspace included), float64 the reference.
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = Tensor::ones({1, 1, 4, 4}, dt).set_requires_grad(true);
    sum(max_pool2d(x, Pool2dParams(3, 1))).backward();
    Tensor g = x.grad();
    // windows start at (0..1, 0..1): each sends its gradient to its top-left tap
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_EQ(g.at({0, 0, i, j}), i < 2 && j < 2 ? 1.0 : 0.0) << i << "," << j;
  }
}

TEST(Pool, AvgDivisorsByHand) {
  Tensor x = Tensor::ones({1, 1, 3, 3});
  // 2x2 stride 2 pad 1: the corner window holds one real 1 and three padded zeros.
  auto p = Pool2dParams(2).set_padding(1);
  EXPECT_EQ(avg_pool2d(x, p).at({0, 0, 0, 0}), 0.25);
  EXPECT_EQ(avg_pool2d(x, with_include_pad(p, false)).at({0, 0, 0, 0}), 1.0);
  // ceil_mode on 3x3 with 2x2/2: the last window hangs over by one; PyTorch divides by the
  // window clipped to the (unpadded) input, 2 elements, even with count_include_pad.
  Tensor v = Tensor::arange(9).reshape({1, 1, 3, 3});
  Tensor c = avg_pool2d(v, Pool2dParams(2).set_ceil_mode(true));
  ASSERT_EQ(c.shape(), Shape({1, 1, 2, 2}));
  EXPECT_EQ(c.at({0, 0, 0, 1}), (2.0 + 5.0) / 2);
  EXPECT_EQ(c.at({0, 0, 1, 1}), 8.0);
}

TEST(Pool, AdaptiveAndGlobalByHand) {
  Tensor x = Tensor::arange(5).reshape({1, 1, 1, 5});
  // 5 -> 2 bins: [0, 3) and [2, 5) (they overlap at 2).
  Tensor y = adaptive_avg_pool2d(x, 1, 2);
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 0})), 1.0f);
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 1})), 3.0f);
  Tensor g = global_avg_pool2d(Tensor::arange(24).reshape({1, 2, 3, 4}));
  ASSERT_EQ(g.shape(), Shape({1, 2, 1, 1}));
  EXPECT_FLOAT_EQ(float(g.at({0, 1, 0, 0})), 17.5f);
}

TEST(Pool, Errors) {
  Tensor x = Tensor::zeros({1, 2, 5, 5});
  EXPECT_THROW_WITH(max_pool2d(Tensor::zeros({2, 5, 5}), 2), "max_pool2d", "4-D", "[2,5,5]");
  EXPECT_THROW_WITH(avg_pool2d(x, Pool2dParams(3).set_padding(2)), "avg_pool2d", "half the kernel",
                    "[1,2,5,5]", "pad=2x2");
  EXPECT_THROW_WITH(max_pool2d(x, Pool2dParams(7)), "max_pool2d", "kernel 7x7", "padded input 5x5",
                    "[1,2,5,5]");
  EXPECT_THROW_WITH(max_pool2d(x, Pool2dParams(2, 0)), "max_pool2d", "stride", "stride=0x0");
  EXPECT_THROW_WITH(max_pool2d(Tensor::zeros({1, 1, 4, 4}, DType::i64), 2), "max_pool2d", "int64");
  EXPECT_THROW_WITH(adaptive_avg_pool2d(x, 0, 2), "adaptive_avg_pool2d", "0x2", "[1,2,5,5]");
  EXPECT_THROW_WITH(global_avg_pool2d(Tensor::zeros({2, 3})), "global_avg_pool2d", "[2,3]");
  EXPECT_THROW_WITH(global_avg_pool2d(Tensor::zeros({2, 3, 0, 4})), "global_avg_pool2d",
                    "[2,3,0,4]");
}

TEST(Pool, MaxGradcheck) {
  uint64_t seed = 1;
  for (const PoolCase& c : pool_cases()) {
    Pool2dParams p = c.p;
    EXPECT_TRUE(gradcheck([p](const TensorList& in) { return max_pool2d(in[0], p); },
                          {distinct_var(c.x, seed++)}))
        << c.x.to_string() << " " << p.to_string();
  }
}

TEST(Pool, AvgGradcheck) {
  uint64_t seed = 1;
  for (const PoolCase& c : pool_cases()) {
    for (bool include : {true, false}) {
      Pool2dParams p = with_include_pad(c.p, include);
      EXPECT_TRUE(gradcheck([p](const TensorList& in) { return avg_pool2d(in[0], p); },
                            {rand_var(c.x, seed++)}))
          << c.x.to_string() << " " << p.to_string();
    }
  }
}

TEST(Pool, AdaptiveAndGlobalGradcheck) {
  auto adaptive = [](int64_t oh, int64_t ow) {
    return [oh, ow](const TensorList& in) { return adaptive_avg_pool2d(in[0], oh, ow); };
  };
  EXPECT_TRUE(gradcheck(adaptive(3, 2), {rand_var({2, 2, 7, 5}, 1)}));  // 7->3, 5->2
  EXPECT_TRUE(gradcheck(adaptive(5, 4), {rand_var({1, 2, 3, 3}, 2)}));  // growing: bins repeat
  EXPECT_TRUE(gradcheck(adaptive(3, 2), {rand_var({1, 2, 6, 4}, 3)}));  // divisible: avg path
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return global_avg_pool2d(in[0]); },
                        {rand_var({2, 3, 5, 4}, 4)}));
}

// The dnnl kernel must accept everything except avg+count_include_pad with a ceil overhang, and
// agree with ref on what it accepts (training forward, workspace backward, inference forward).
TEST(Pool, BackendsAgree) {
  uint64_t seed = 10;
  for (const PoolCase& c : pool_cases()) {
    Shape big{4, 5, c.x[2] + 6, c.x[3] + 5};  // large enough planes to run blocked code paths
    for (const Shape& s : {c.x, big}) {
      Generator gen(seed++);
      Tensor x = Tensor::randn(s, &gen).set_requires_grad(true);
      for (int variant = 0; variant < 3; ++variant) {
        const bool is_max = variant == 0;
        Pool2dParams p = with_include_pad(c.p, variant == 1);
        auto f = [p, is_max](const TensorList& in) {
          return is_max ? max_pool2d(in[0], p) : avg_pool2d(in[0], p);
        };
        Tensor y = Tensor::empty(f({x.detach()}).shape());
        // oneDNN's include-padding divisor is always KH*KW; PyTorch's leaves out the ceil_mode
        // overhang, which exists exactly when ceil_mode added an output row or column.
        const bool overhang =
            y.size(2) != pool_output_size(s[2], p.kernel_h, p.stride_h, p.pad_h, false) ||
            y.size(3) != pool_output_size(s[3], p.kernel_w, p.stride_w, p.pad_w, false);
        std::string why;
        const bool accepted = onednn::pool2d_accepts(x, y, p, is_max, &why);
        EXPECT_EQ(accepted, is_max || !p.count_include_pad || !overhang)
            << s.to_string() << " " << p.to_string() << " " << why;
        EXPECT_TRUE(test::compare_backends(f, {x}, 1e-5, 1e-5))
            << s.to_string() << " " << p.to_string() << " max=" << is_max << " dnnl=" << accepted;
        NoGradGuard no_grad;
        EXPECT_TRUE(test::compare_backends(f, {x.detach()}, 1e-5, 1e-5)) << "inference";
      }
    }
  }
}

// Pooling layers of the zoo (channels cut down): ResNet's stem max pool, GoogLeNet's ceil-mode
// 3x3/2 pools, AlexNet's overlapping 3x3/2, VGG's 2x2, ResNet's global average.
TEST(Pool, ZooShapesBackendsAgree) {
  struct Zoo {
    Shape x;
    Pool2dParams p;
    bool is_max;
  };
  const std::vector<Zoo> zoo = {
      {{2, 8, 112, 112}, Pool2dParams(3, 2).set_padding(1), true},
      {{2, 8, 28, 28}, Pool2dParams(3, 2).set_ceil_mode(true), true},
      {{2, 8, 55, 55}, Pool2dParams(3, 2), true},
      {{2, 8, 14, 14}, Pool2dParams(2), true},
      {{2, 16, 7, 7}, Pool2dParams(7), false},
      {{2, 16, 14, 14}, Pool2dParams(3, 1).set_padding(1).set_ceil_mode(true), true},
  };
  Generator gen(5);
  for (const Zoo& z : zoo) {
    Tensor x = Tensor::randn(z.x, &gen).set_requires_grad(true);
    Pool2dParams p = z.p;
    const bool is_max = z.is_max;
    EXPECT_TRUE(test::compare_backends(
        [p, is_max](const TensorList& in) {
          return is_max ? max_pool2d(in[0], p) : avg_pool2d(in[0], p);
        },
        {x}, 1e-5, 1e-5))
        << z.x.to_string() << " " << p.to_string();
  }
}

namespace {
// Runs every case of a golden file (tests/golden/gen_pool.py): forward and input gradient of
// sum(pool(x) * r), float32, on the suite's backend, against PyTorch.
void check_golden(const std::string& file) {
  io::SafetensorsFile f = test::load_golden(file);
  int cases = 0;
  for (const auto& [key, params_t] : f.tensors) {
    const std::string suffix = ".params";
    if (key.size() < suffix.size() ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix))
      continue;
    const std::string name = key.substr(0, key.size() - suffix.size());
    const int64_t* q = params_t.data<int64_t>();
    std::function<Tensor(const Tensor&)> pool;
    if (file == "pool_adaptive") {
      const int64_t oh = q[0], ow = q[1];
      pool = name.rfind("global", 0) == 0
                 ? std::function<Tensor(const Tensor&)>(
                       [](const Tensor& x) { return global_avg_pool2d(x); })
                 : [oh, ow](const Tensor& x) { return adaptive_avg_pool2d(x, oh, ow); };
    } else {
      Pool2dParams p = Pool2dParams(q[0], q[1], q[2], q[3])
                           .set_padding(q[4], q[5])
                           .set_ceil_mode(q[6] != 0)
                           .set_count_include_pad(q[7] != 0);
      const bool is_max = file == "pool_max";
      pool = [p, is_max](const Tensor& x) { return is_max ? max_pool2d(x, p) : avg_pool2d(x, p); };
    }
    Tensor x = test::golden_tensor(f, name + ".x").clone().set_requires_grad(true);
    Tensor y = pool(x);
    Tensor want_y = test::golden_tensor(f, name + ".y");
    ASSERT_EQ(y.shape(), want_y.shape()) << name;
    EXPECT_LE(test::rel_error(y, want_y), 1e-4) << name;
    sum(mul(y, test::golden_tensor(f, name + ".r"))).backward();
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, name + ".dx")), 1e-4) << name;
    ++cases;
  }
  EXPECT_GE(cases, 5) << file;
}
}  // namespace

TEST(Pool, GoldenMax) { check_golden("pool_max"); }
TEST(Pool, GoldenAvg) { check_golden("pool_avg"); }
TEST(Pool, GoldenAdaptive) { check_golden("pool_adaptive"); }
