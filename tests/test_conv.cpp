#include <gtest/gtest.h>

#include <sstream>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {

// One conv2d configuration: shapes and parameters, named for failure messages.
struct ConvCase {
  const char* name;
  Shape x, w;
  bool bias;
  Conv2dParams p;
};

// The brief's list: every option alone, on small odd shapes (gradcheck runs them in double).
std::vector<ConvCase> small_cases() {
  return {
      {"3x3 pad 1", {2, 3, 5, 6}, {4, 3, 3, 3}, true, Conv2dParams().set_padding(1)},
      {"stride 2 odd input",
       {1, 2, 7, 9},
       {3, 2, 3, 3},
       true,
       Conv2dParams().set_stride(2).set_padding(1)},
      {"dilation 2",
       {1, 2, 7, 8},
       {3, 2, 3, 3},
       true,
       Conv2dParams().set_dilation(2).set_padding(1)},
      {"groups 2", {2, 4, 5, 5}, {6, 2, 3, 3}, true, Conv2dParams().set_groups(2).set_padding(1)},
      {"depthwise", {1, 3, 6, 5}, {3, 1, 3, 3}, true, Conv2dParams().set_groups(3).set_padding(1)},
      {"1x1", {2, 3, 4, 5}, {5, 3, 1, 1}, true, Conv2dParams()},
      {"same stride 2 (asymmetric)",
       {1, 2, 8, 7},
       {3, 2, 3, 3},
       true,
       Conv2dParams().set_stride(2).same()},
      {"valid", {1, 2, 6, 7}, {3, 2, 3, 2}, true, Conv2dParams().set_padding(5).valid()},
      {"no bias", {2, 2, 5, 5}, {3, 2, 3, 3}, false, Conv2dParams().set_padding(1)},
      {"3x1 kernel, mixed stride/pad/dilation",
       {1, 2, 9, 6},
       {4, 2, 3, 1},
       true,
       Conv2dParams().set_stride(2, 1).set_padding(1, 2).set_dilation(2, 1)},
  };
}

Tensor run(const ConvCase& c, const TensorList& in) {
  return conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.p);
}

TensorList float_inputs(const ConvCase& c, uint64_t seed) {
  Generator g(seed);
  TensorList in{Tensor::randn(c.x, &g).set_requires_grad(true),
                Tensor::randn(c.w, &g).set_requires_grad(true)};
  if (c.bias) in.push_back(Tensor::randn({c.w[0]}, &g).set_requires_grad(true));
  return in;
}

// Seeded random configurations (dlib-style fuzzing): sizes, strides, pads, dilations, groups and
// padding modes drawn at random; draws whose output would be empty are skipped.
std::vector<ConvCase> random_cases(int count, uint64_t seed) {
  Generator g(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + int64_t(g.next_u64() % uint64_t(hi - lo + 1));
  };
  std::vector<ConvCase> cases;
  while (int(cases.size()) < count) {
    const int64_t groups = pick(1, 3), icg = pick(1, 3), ocg = pick(1, 3);
    const int64_t kh = pick(1, 4), kw = pick(1, 4), h = pick(1, 9), w = pick(1, 9);
    Conv2dParams p;
    p.set_stride(pick(1, 3), pick(1, 3)).set_dilation(pick(1, 3), pick(1, 2)).set_groups(groups);
    p.set_padding(pick(0, 3), pick(0, 3));
    const int64_t mode = pick(0, 3);  // explicit twice as often as same or valid
    if (mode == 2) p.same();
    if (mode == 3) p.valid();
    const bool fits =
        p.mode == Padding::same ||
        (h + 2 * (p.mode == Padding::valid ? 0 : p.pad_h) >= p.dilation_h * (kh - 1) + 1 &&
         w + 2 * (p.mode == Padding::valid ? 0 : p.pad_w) >= p.dilation_w * (kw - 1) + 1);
    if (!fits) continue;
    cases.push_back({"random",
                     {pick(1, 3), groups * icg, h, w},
                     {groups * ocg, icg, kh, kw},
                     pick(0, 1) == 1,
                     p});
  }
  return cases;
}

std::string describe(const ConvCase& c) {
  const Conv2dParams& p = c.p;
  return detail::concat(c.name, " x", c.x.to_string(), " w", c.w.to_string(), " bias=", c.bias,
                        " stride=", p.stride_h, "x", p.stride_w, " pad=", p.pad_h, "x", p.pad_w,
                        " dilation=", p.dilation_h, "x", p.dilation_w, " groups=", p.groups,
                        " mode=", int(p.mode));
}

// "1,2" -> {1, 2}
std::pair<int64_t, int64_t> pair_of(const std::string& s) {
  std::istringstream is(s);
  int64_t a = 0, b = 0;
  char comma = 0;
  is >> a >> comma >> b;
  return {a, b};
}

}  // namespace

TEST(Conv, OutputSizeTable) {
  // (n, k, s, p, d) -> floor((n + 2p - d(k-1) - 1)/s) + 1, worked by hand.
  EXPECT_EQ(conv_output_size(32, 3, 1, 1, 1), 32);
  EXPECT_EQ(conv_output_size(32, 3, 2, 1, 1), 16);
  EXPECT_EQ(conv_output_size(7, 3, 2, 1, 1), 4);
  EXPECT_EQ(conv_output_size(7, 3, 2, 0, 1), 3);
  EXPECT_EQ(conv_output_size(224, 7, 2, 3, 1), 112);  // ResNet stem
  EXPECT_EQ(conv_output_size(8, 3, 1, 0, 2), 4);      // dilated extent 5
  EXPECT_EQ(conv_output_size(5, 5, 1, 0, 1), 1);
  EXPECT_EQ(conv_output_size(1, 1, 3, 0, 1), 1);
  EXPECT_EQ(conv_output_size(10, 1, 3, 0, 1), 4);
  EXPECT_THROW_WITH(conv_output_size(4, 3, 1, 0, 2), "conv_output_size", "n=4", "k=3", "d=2");
  EXPECT_THROW_WITH(conv_output_size(4, 3, 0, 0, 1), "conv_output_size", "s=0");
  EXPECT_THROW_WITH(conv_output_size(4, 3, 1, -1, 1), "conv_output_size", "p=-1");
}

TEST(Conv, SamePaddingTable) {
  // TensorFlow "SAME": out = ceil(n/s); the odd pixel goes after.
  auto same = [](int64_t n, int64_t k, int64_t s, int64_t d) {
    PadPair p = conv_same_padding(n, k, s, d);
    return std::make_pair(p.before, p.after);
  };
  EXPECT_EQ(same(32, 3, 1, 1), std::make_pair(int64_t(1), int64_t(1)));
  EXPECT_EQ(same(8, 3, 2, 1), std::make_pair(int64_t(0), int64_t(1)));  // total 3*2+3-8 = 1
  EXPECT_EQ(same(7, 3, 2, 1), std::make_pair(int64_t(1), int64_t(1)));  // total 3*2+3-7 = 2
  EXPECT_EQ(same(6, 4, 1, 1), std::make_pair(int64_t(1), int64_t(2)));
  EXPECT_EQ(same(9, 3, 1, 2), std::make_pair(int64_t(2), int64_t(2)));  // dilated extent 5
  EXPECT_EQ(same(8, 1, 3, 1), std::make_pair(int64_t(0), int64_t(0)));  // would be negative
  Tensor x = Tensor::randn({1, 1, 7, 8});
  Tensor y = conv2d(x, Tensor::randn({2, 1, 3, 3}), Tensor(), Conv2dParams().set_stride(2).same());
  EXPECT_EQ(y.shape(), Shape({1, 2, 4, 4}));
  y = conv2d(x, Tensor::randn({2, 1, 3, 3}), Tensor(), Conv2dParams().set_stride(3, 1).same());
  EXPECT_EQ(y.shape(), Shape({1, 2, 3, 8}));
}

TEST(Conv, HandComputedValues) {
  // x = 1..16 in a 4x4 image, w = [[1,0],[0,-1]] stride 2: y = x[i,j] - x[i+1,j+1] = -5 everywhere,
  // plus bias 0.5. Padding 1 (explicit) gives a 3x3 output whose top-left reads only x[0,0]*(-1).
  Tensor x = Tensor::arange(1, 17).reshape({1, 1, 4, 4});
  Tensor w = Tensor::from_vector<float>({1, 0, 0, -1}, {1, 1, 2, 2});
  Tensor b = Tensor::from_vector<float>({0.5f}, {1});
  Tensor y = conv2d(x, w, b, Conv2dParams().set_stride(2));
  ASSERT_EQ(y.shape(), Shape({1, 1, 2, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) EXPECT_FLOAT_EQ(y.at({0, 0, i, j}), -4.5);
  Tensor yp = conv2d(x, w, Tensor(), Conv2dParams().set_stride(2).set_padding(1));
  ASSERT_EQ(yp.shape(), Shape({1, 1, 3, 3}));
  EXPECT_FLOAT_EQ(yp.at({0, 0, 0, 0}), -1.0);      // only w[1,1] * x[0,0]
  EXPECT_FLOAT_EQ(yp.at({0, 0, 2, 2}), 16.0);      // only w[0,0] * x[3,3]
  EXPECT_FLOAT_EQ(yp.at({0, 0, 1, 1}), 6 - 11.0);  // x[1,1] - x[2,2]
}

TEST(Conv, Gradcheck) {
  uint64_t seed = 1;
  for (const ConvCase& c : small_cases()) {
    TensorList in{rand_var(c.x, seed++), rand_var(c.w, seed++)};
    if (c.bias) in.push_back(rand_var({c.w[0]}, seed++));
    EXPECT_TRUE(gradcheck([&](const TensorList& v) { return run(c, v); }, in)) << c.name;
  }
}

TEST(Conv, GradcheckPartialInputs) {
  // Only some inputs need gradients: the backward must skip the others.
  ConvCase c = small_cases()[1];
  TensorList in{rand_var(c.x, 1), rand_var(c.w, 2).detach(), rand_var({c.w[0]}, 3)};
  EXPECT_TRUE(gradcheck([&](const TensorList& v) { return run(c, v); }, in));
  TensorList in2{rand_var(c.x, 4).detach(), rand_var(c.w, 5), rand_var({c.w[0]}, 6).detach()};
  EXPECT_TRUE(gradcheck([&](const TensorList& v) { return run(c, v); }, in2));
  TensorList in3{rand_var(c.x, 7).detach(), rand_var(c.w, 8).detach(), rand_var({c.w[0]}, 9)};
  EXPECT_TRUE(gradcheck([&](const TensorList& v) { return run(c, v); }, in3));
}

TEST(Conv, BackendsAgree) {
  std::vector<ConvCase> cases = small_cases();
  cases.push_back({"bigger [4,16,13,13]",
                   {4, 16, 13, 13},
                   {16, 16, 3, 3},
                   true,
                   Conv2dParams().set_padding(1)});
  cases.push_back({"bigger stride 2 [4,16,13,13] -> 32",
                   {4, 16, 13, 13},
                   {32, 16, 3, 3},
                   true,
                   Conv2dParams().set_stride(2).set_padding(1)});
  cases.push_back(
      {"first layer 3 -> 16", {4, 3, 16, 16}, {16, 3, 3, 3}, false, Conv2dParams().set_padding(1)});
  cases.push_back({"depthwise 32 same stride 2",
                   {2, 32, 11, 10},
                   {32, 1, 3, 3},
                   true,
                   Conv2dParams().set_groups(32).set_stride(2).same()});
  uint64_t seed = 100;
  for (const ConvCase& c : cases) {
    EXPECT_TRUE(test::compare_backends([&](const TensorList& v) { return run(c, v); },
                                       float_inputs(c, seed++), 1e-4, 1e-4))
        << c.name;
  }
}

TEST(Conv, RandomSweep) {
  uint64_t seed = 500;
  for (const ConvCase& c : random_cases(60, 42)) {
    EXPECT_TRUE(test::compare_backends([&](const TensorList& v) { return run(c, v); },
                                       float_inputs(c, seed++), 1e-4, 1e-4))
        << describe(c);
  }
  for (const ConvCase& c : random_cases(12, 7)) {
    TensorList in{rand_var(c.x, seed++), rand_var(c.w, seed++)};
    if (c.bias) in.push_back(rand_var({c.w[0]}, seed++));
    EXPECT_TRUE(gradcheck([&](const TensorList& v) { return run(c, v); }, in)) << describe(c);
  }
}

TEST(Conv, EmptyBatch) {
  // Zero images: an empty output, and parameter gradients that are exactly zero.
  Tensor x = Tensor::zeros({0, 3, 5, 5}).set_requires_grad(true);
  Tensor w = Tensor::ones({4, 3, 3, 3}).set_requires_grad(true);
  Tensor b = Tensor::ones({4}).set_requires_grad(true);
  Tensor y = conv2d(x, w, b, Conv2dParams().set_padding(1));
  EXPECT_EQ(y.shape(), Shape({0, 4, 5, 5}));
  y.backward(Tensor::zeros(y.shape()));
  EXPECT_EQ(x.grad().shape(), x.shape());
  EXPECT_EQ(test::max_abs(w.grad()), 0.0);
  EXPECT_EQ(test::max_abs(b.grad()), 0.0);
}

TEST(Conv, NoGradForward) {
  // Inference (no graph) must give the same values as a training forward.
  ConvCase c = small_cases()[6];
  TensorList in = float_inputs(c, 7);
  Tensor y_train = run(c, in);
  ASSERT_TRUE(y_train.requires_grad());
  NoGradGuard ng;
  Tensor y_infer = run(c, in);
  EXPECT_FALSE(y_infer.requires_grad());
  EXPECT_EQ(test::max_abs_diff(y_train, y_infer), 0.0);
}

TEST(Conv, Errors) {
  Tensor x = Tensor::zeros({8, 3, 32, 32});
  Tensor w = Tensor::zeros({16, 1, 3, 3});
  EXPECT_THROW_WITH(conv2d(x, w), "conv2d", "input has 3 channels", "expects 1", "[8,3,32,32]",
                    "[16,1,3,3]");
  EXPECT_THROW_WITH(conv2d(Tensor::zeros({3, 32, 32}), Tensor::zeros({16, 3, 3, 3})), "conv2d",
                    "4-D", "[3,32,32]", "[16,3,3,3]");
  EXPECT_THROW_WITH(conv2d(x, Tensor::zeros({16, 3, 3})), "conv2d", "weight must be 4-D",
                    "[16,3,3]");
  EXPECT_THROW_WITH(conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({6, 1, 3, 3}), Tensor(),
                           Conv2dParams().set_groups(4)),
                    "conv2d", "6 output channels", "groups=4", "[6,1,3,3]");
  EXPECT_THROW_WITH(conv2d(x, Tensor::zeros({16, 3, 3, 3}), Tensor::zeros({8})), "conv2d", "bias",
                    "[8]", "[16,3,3,3]");
  EXPECT_THROW_WITH(conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4, 3, 3, 3})), "conv2d",
                    "height", "empty", "[1,3,2,2]", "[4,3,3,3]");
  EXPECT_THROW_WITH(conv2d(Tensor::zeros({1, 3, 5, 2}), Tensor::zeros({4, 3, 3, 3}), Tensor(),
                           Conv2dParams().valid()),
                    "conv2d", "width", "[1,3,5,2]");
  EXPECT_THROW_WITH(conv2d(x, Tensor::zeros({16, 3, 3, 3}, DType::f64)), "conv2d", "float32",
                    "float64");
  EXPECT_THROW_WITH(conv2d(x, Tensor::zeros({16, 3, 3, 3}), Tensor(), Conv2dParams().set_stride(0)),
                    "conv2d", "stride", "[8,3,32,32]");
  EXPECT_THROW_WITH(
      conv2d(x, Tensor::zeros({16, 3, 3, 3}), Tensor(), Conv2dParams().set_dilation(0, 1)),
      "conv2d", "dilation");
  EXPECT_THROW_WITH(
      conv2d(x, Tensor::zeros({16, 3, 3, 3}), Tensor(), Conv2dParams().set_padding(-1)), "conv2d",
      "padding");
  EXPECT_THROW_WITH(
      conv2d(Tensor::zeros({1, 3, 4, 4}, DType::i64), Tensor::zeros({1, 3, 1, 1}, DType::i64)),
      "conv2d", "floating");
}

TEST(Conv, GoldenParityWithPyTorch) {
  for (const char* name : {"conv_basic", "conv_strided_dilated_groups", "conv_depthwise",
                           "conv_same_stride2", "conv_valid_1x1"}) {
    SCOPED_TRACE(name);
    io::SafetensorsFile f = test::load_golden(name);
    Conv2dParams p;
    auto [sh, sw] = pair_of(f.metadata.at("stride"));
    auto [ph, pw] = pair_of(f.metadata.at("padding"));
    auto [dh, dw] = pair_of(f.metadata.at("dilation"));
    p.set_stride(sh, sw).set_padding(ph, pw).set_dilation(dh, dw);
    p.set_groups(std::stoll(f.metadata.at("groups")));
    const std::string mode = f.metadata.at("mode");
    if (mode == "same") p.same();
    if (mode == "valid") p.valid();

    const bool has_bias = f.tensors.count("b") > 0;
    Tensor x = test::golden_tensor(f, "x").clone().set_requires_grad(true);
    Tensor w = test::golden_tensor(f, "w").clone().set_requires_grad(true);
    Tensor b = has_bias ? test::golden_tensor(f, "b").clone().set_requires_grad(true) : Tensor();
    Tensor y = conv2d(x, w, b, p);
    EXPECT_LE(test::rel_error(y, test::golden_tensor(f, "y")), 1e-4);
    y.backward(test::golden_tensor(f, "gy"));
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, "dx")), 1e-4);
    EXPECT_LE(test::rel_error(w.grad(), test::golden_tensor(f, "dw")), 1e-4);
    if (has_bias) {
      EXPECT_LE(test::rel_error(b.grad(), test::golden_tensor(f, "db")), 1e-4);
    }
  }
}
