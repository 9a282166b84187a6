#include <gtest/gtest.h>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {
Tensor iota(const Shape& s, DType dt = DType::f32) {
  return Tensor::arange(s.numel(), dt).reshape(s);
}
}  // namespace

TEST(ShapeOps, TransposeAndPermuteValues) {
  Tensor x = iota({2, 3, 4});
  Tensor t = transpose(x, 0, -1);
  ASSERT_EQ(t.shape(), Shape({4, 3, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(t.at({k, j, i}), x.at({i, j, k}));
  Tensor p = permute(x, {1, 2, 0});
  ASSERT_EQ(p.shape(), Shape({3, 4, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(p.at({j, k, i}), x.at({i, j, k}));
  // any dtype: int64 labels and uint8 pixels move bit-exactly
  Tensor xi = iota({2, 3}, DType::i64);
  EXPECT_EQ(transpose(xi, 0, 1).at({2, 1}), 5.0);
  Tensor xu = iota({2, 3}, DType::f32).to(DType::u8);
  EXPECT_EQ(permute(xu, {1, 0}).at({1, 1}), 4.0);
  // NCHW -> NHWC of a 4-D image and back is the identity
  Tensor img = iota({2, 3, 4, 5});
  EXPECT_EQ(test::max_abs_diff(permute(permute(img, {0, 2, 3, 1}), {0, 3, 1, 2}), img), 0.0);
}

TEST(ShapeOps, ConcatSplitNarrowValues) {
  Tensor a = iota({2, 1, 3}), b = add(iota({2, 2, 3}), 100.0);
  Tensor c = concat({a, b}, 1);
  ASSERT_EQ(c.shape(), Shape({2, 3, 3}));
  EXPECT_EQ(c.at({1, 0, 2}), a.at({1, 0, 2}));
  EXPECT_EQ(c.at({1, 2, 1}), b.at({1, 1, 1}));
  TensorList parts = split(c, std::vector<int64_t>{1, 2}, -2);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(test::max_abs_diff(parts[0], a), 0.0);
  EXPECT_EQ(test::max_abs_diff(parts[1], b), 0.0);
  TensorList chunks = split(iota({7, 2}), 3, 0);  // torch.split: 3, 3, 1
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2].shape(), Shape({1, 2}));
  EXPECT_EQ(chunks[2].at({0, 1}), 13.0);
  Tensor n = narrow(iota({3, 5}), 1, -3, 2);  // columns 2..3
  ASSERT_EQ(n.shape(), Shape({3, 2}));
  EXPECT_EQ(n.at({2, 0}), 12.0);
  EXPECT_EQ(n.at({2, 1}), 13.0);
  Tensor ci = concat({iota({2}, DType::i64), iota({3}, DType::i64)}, 0);
  EXPECT_EQ(ci.at({4}), 2.0);
}

TEST(ShapeOps, PadValues) {
  Tensor x = iota({1, 1, 2, 3});  // [[0 1 2] [3 4 5]]
  Tensor z = pad2d(x, 1, 0, 0, 1, PadMode::zeros, -1.0);
  ASSERT_EQ(z.shape(), Shape({1, 1, 3, 4}));
  EXPECT_EQ(z.at({0, 0, 0, 0}), -1.0);
  EXPECT_EQ(z.at({0, 0, 1, 3}), 5.0);
  EXPECT_EQ(z.at({0, 0, 2, 2}), -1.0);
  Tensor r = pad2d(x, 2, 2, 1, 1, PadMode::reflect);  // row -1 -> row 1; col -2 -> col 2
  ASSERT_EQ(r.shape(), Shape({1, 1, 4, 7}));
  EXPECT_EQ(r.at({0, 0, 0, 0}), 5.0);
  EXPECT_EQ(r.at({0, 0, 1, 6}), 0.0);  // row 0, col 4 -> col 0
  Tensor p = pad2d(x, 2, 1, 1, 0, PadMode::replicate);
  EXPECT_EQ(p.at({0, 0, 0, 0}), 0.0);
  EXPECT_EQ(p.at({0, 0, 2, 5}), 5.0);
  Tensor u = upsample_nearest2d(x, 2, 3);
  ASSERT_EQ(u.shape(), Shape({1, 1, 4, 9}));
  EXPECT_EQ(u.at({0, 0, 3, 8}), 5.0);
  EXPECT_EQ(u.at({0, 0, 1, 3}), 1.0);
}

TEST(ShapeOps, Gradcheck) {
  auto check = [](auto f, Shape s, uint64_t seed) {
    return gradcheck([f](const TensorList& in) { return f(in[0]); }, {rand_var(s, seed)});
  };
  EXPECT_TRUE(check([](const Tensor& x) { return transpose(x, 1, -1); }, {2, 3, 5}, 1));
  EXPECT_TRUE(check([](const Tensor& x) { return permute(x, {2, 0, 3, 1}); }, {2, 3, 1, 5}, 2));
  EXPECT_TRUE(check([](const Tensor& x) { return narrow(x, 1, 1, 3); }, {2, 5, 3}, 3));
  for (int piece = 0; piece < 3; ++piece) {
    EXPECT_TRUE(check(
        [piece](const Tensor& x) {
          return split(x, std::vector<int64_t>{2, 1, 4}, -1)[piece];
        },
        {3, 7}, 4));
    EXPECT_TRUE(check([piece](const Tensor& x) { return split(x, 2, 0)[piece]; }, {5, 3}, 5));
  }
  // All pieces at once: every split output feeds the loss, gradients meet in x.
  EXPECT_TRUE(check(
      [](const Tensor& x) {
        TensorList p = split(x, 2, 1);
        return concat({mul(p[1], 2.0), p[0], p[2]}, 1);
      },
      {2, 5, 3}, 6));
  EXPECT_TRUE(
      gradcheck([](const TensorList& in) { return concat(in, 1); },
                {rand_var({2, 3, 3, 2}, 7), rand_var({2, 1, 3, 2}, 8), rand_var({2, 2, 3, 2}, 9)}));
  // An input without requires_grad gets no gradient but still shifts the offsets.
  Tensor fixed = rand_var({1, 3}, 10).detach();
  EXPECT_TRUE(gradcheck(
      [fixed](const TensorList& in) {
        return concat({fixed, in[0]}, 0);
      },
      {rand_var({2, 3}, 11)}));
  for (PadMode m : {PadMode::zeros, PadMode::reflect, PadMode::replicate}) {
    EXPECT_TRUE(check([m](const Tensor& x) { return pad2d(x, 2, 1, 0, 2, m); }, {2, 1, 3, 4}, 12));
    EXPECT_TRUE(check([m](const Tensor& x) { return pad2d(x, 1, 3, 2, 1, m); }, {3, 4, 5}, 13));
  }
  EXPECT_TRUE(check([](const Tensor& x) { return upsample_nearest2d(x, 2, 3); }, {2, 2, 3, 2}, 14));
  EXPECT_TRUE(check([](const Tensor& x) { return upsample_nearest2d(x, 1, 2); }, {3, 3}, 15));
}

TEST(ShapeOps, ConcatBackendsAgree) {
  Generator g(3);
  auto var = [&](Shape s) { return Tensor::randn(s, &g).set_requires_grad(true); };
  // Inception's channel concat with different C's, and the outer and inner dims.
  for (int dim : {1, 0, 3, -1}) {
    Shape a{4, 16, 7, 7}, b{4, 16, 7, 7}, c{4, 16, 7, 7};
    const int d = dim < 0 ? dim + 4 : dim;
    a[d] = 3, b[d] = 8, c[d] = 5;
    EXPECT_TRUE(test::compare_backends([dim](const TensorList& in) { return concat(in, dim); },
                                       {var(a), var(b), var(c)}, 0, 0))
        << "dim " << dim;
  }
  EXPECT_TRUE(test::compare_backends([](const TensorList& in) { return concat(in, 0); },
                                     {var({5}), var({1})}, 0, 0));
  // Mixed: one input without requires_grad.
  EXPECT_TRUE(test::compare_backends([](const TensorList& in) { return concat(in, 1); },
                                     {var({2, 3, 4}), Tensor::randn({2, 2, 4}, &g)}, 0, 0));
}

TEST(ShapeOps, Errors) {
  Tensor x = Tensor::zeros({2, 3, 4});
  EXPECT_THROW_WITH(transpose(x, 0, 3), "transpose", "dimension 3", "3-d");
  EXPECT_THROW_WITH(permute(x, {0, 0, 1}), "permute", "[0,0,1]", "[2,3,4]");
  EXPECT_THROW_WITH(permute(x, {0, 1}), "permute", "[0,1]", "[2,3,4]");
  EXPECT_THROW_WITH(concat({x, Tensor::zeros({2, 5, 4}), Tensor::zeros({2, 3, 5})}, 1), "concat",
                    "input 2", "[2,3,5]", "[2,3,4]", "except 1");
  EXPECT_THROW_WITH(concat({x, Tensor::zeros({2, 3})}, 0), "concat", "input 1", "[2,3]");
  EXPECT_THROW_WITH(concat({x, Tensor::zeros({2, 3, 4}, DType::f64)}, 0), "concat", "input 1",
                    "float64", "float32");
  EXPECT_THROW_WITH(concat({}, 0), "concat", "no inputs");
  EXPECT_THROW_WITH(concat({x}, 3), "concat", "dimension 3");
  EXPECT_THROW_WITH(split(x, std::vector<int64_t>{1, 1}, 1), "split", "[1,1]", "sum to 2",
                    "[2,3,4]");
  EXPECT_THROW_WITH(split(x, 0, 1), "split", "chunk size 0", "[2,3,4]");
  EXPECT_THROW_WITH(narrow(x, 2, 2, 3), "narrow", "[2, 5)", "size 4", "[2,3,4]");
  EXPECT_THROW_WITH(narrow(x, 2, -5, 1), "narrow", "start -5", "[2,3,4]");
  EXPECT_THROW_WITH(pad2d(x, 4, 0, 0, 0, PadMode::reflect), "pad2d", "reflect", "left 4",
                    "[2,3,4]");
  EXPECT_THROW_WITH(pad2d(x, -1, 0, 0, 0), "pad2d", "left -1", "[2,3,4]");
  EXPECT_THROW_WITH(pad2d(Tensor::zeros({4}), 1, 1, 0, 0), "pad2d", "at least 2 dims", "[4]");
  EXPECT_THROW_WITH(pad2d(x, 1, 1, 1, 1, PadMode::replicate, 2.0), "pad2d", "replicate");
  EXPECT_THROW_WITH(upsample_nearest2d(x, 0, 2), "upsample_nearest2d", "0x2", "[2,3,4]");
  EXPECT_THROW_WITH(upsample_nearest2d(Tensor::zeros({2, 3, 4}, DType::i64), 2, 2),
                    "upsample_nearest2d", "int64");
}

// PyTorch parity (tests/golden/gen_shape_ops.py): F.pad in each mode and F.interpolate(nearest),
// forward and the input gradient of sum(y * r).
TEST(ShapeOps, GoldenPadAndUpsample) {
  io::SafetensorsFile f = test::load_golden("shape_ops_resample");
  const PadMode modes[] = {PadMode::zeros, PadMode::reflect, PadMode::replicate};  // as the script
  int cases = 0;
  for (const std::string name : {"pad0", "pad1", "pad2", "pad3", "upsample0", "upsample1"}) {
    const int64_t* q = test::golden_tensor(f, name + ".params").data<int64_t>();
    Tensor x = test::golden_tensor(f, name + ".x").clone().set_requires_grad(true);
    Tensor y = name.rfind("pad", 0) == 0 ? pad2d(x, q[0], q[1], q[2], q[3], modes[q[4]])
                                         : upsample_nearest2d(x, q[0], q[1]);
    Tensor want = test::golden_tensor(f, name + ".y");
    ASSERT_EQ(y.shape(), want.shape()) << name;
    EXPECT_LE(test::rel_error(y, want), 1e-6) << name;
    sum(mul(y, test::golden_tensor(f, name + ".r"))).backward();
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, name + ".dx")), 1e-4) << name;
    ++cases;
  }
  EXPECT_EQ(cases, 6);
}
