// Tensors kept in a backend layout between ops (docs/architecture.md, "Layouts"): the storage
// semantics on their own, and chains of oneDNN ops that hand blocked tensors to each other,
// checked against the reference kernels (which only ever see plain tensors).
#include <gtest/gtest.h>

#include "convkit/backend.h"
#include "convkit/ops.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

// A toy layout: the elements stored in reverse order.
class Reversed : public StorageLayout {
 public:
  explicit Reversed(int64_t n) : n_(n) {}
  void to_plain(const void* src, void* dst) const override {
    const float* s = static_cast<const float*>(src);
    float* d = static_cast<float*>(dst);
    for (int64_t i = 0; i < n_; ++i) d[i] = s[n_ - 1 - i];
  }

 private:
  int64_t n_;
};

Tensor reversed_tensor(const Shape& shape) {
  const int64_t n = shape.numel();
  Tensor t =
      Tensor::with_layout(shape, DType::f32, std::make_shared<Reversed>(n), n * sizeof(float));
  float* raw = static_cast<float*>(t.layout_data());
  for (int64_t i = 0; i < n; ++i) raw[i] = float(n - 1 - i);  // plain order: 0, 1, 2, ...
  return t;
}

TEST(Layouts, FirstPlainAccessConvertsOnceForEveryAlias) {
  Tensor t = reversed_tensor({2, 3});
  Tensor alias = t.detach();  // same shape: shares the laid-out storage
  ASSERT_NE(t.layout(), nullptr);
  ASSERT_NE(alias.layout(), nullptr);
  EXPECT_EQ(t.at({1, 2}), 5.0);  // converts
  EXPECT_EQ(t.layout(), nullptr);
  EXPECT_EQ(alias.layout(), nullptr);  // the storage, not the handle, changed
  t.data<float>()[0] = 42.f;
  EXPECT_EQ(alias.at({0, 0}), 42.0);  // still one buffer
}

TEST(Layouts, ViewsOfOtherShapesSeePlainData) {
  Tensor t = reversed_tensor({2, 3});
  Tensor r = t.reshape({3, 2});
  EXPECT_EQ(r.at({2, 1}), 5.0);
  EXPECT_EQ(t.layout(), nullptr);
  Tensor u = reversed_tensor({4, 2});
  Tensor row = u.select(3);
  EXPECT_EQ(row.at({0}), 6.0);
  EXPECT_EQ(row.at({1}), 7.0);
}

TEST(Layouts, CloneAndCopyReadThePlainValues) {
  Tensor t = reversed_tensor({5});
  Tensor c = t.clone();
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(c.at({i}), double(i));
  Tensor d = Tensor::zeros({5});
  d.copy_(reversed_tensor({5}));
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(d.at({i}), double(i));
}

TEST(Layouts, OneDnnKeepsActivationsBlockedBetweenOps) {
  BackendGuard guard(Backend::dnnl);
  Tensor x = Tensor::randn({4, 16, 9, 9});
  Tensor w = Tensor::randn({32, 16, 3, 3});
  Tensor y = conv2d(x, w, Tensor(), Conv2dParams().set_padding(1));
  // 32 channels: oneDNN's AVX-512 direct convolution writes nChw16c.
  ASSERT_NE(y.layout(), nullptr) << "conv2d output was converted to plain";
  Tensor z = relu(y);
  EXPECT_NE(z.layout(), nullptr) << "relu converted its input";
  EXPECT_NE(y.layout(), nullptr);
  Tensor s = add(z, y);
  EXPECT_NE(s.layout(), nullptr) << "add converted its inputs";
  // A plain reader still sees the right values.
  BackendGuard ref_guard(Backend::ref);
  Tensor y_ref = conv2d(x, w, Tensor(), Conv2dParams().set_padding(1));
  EXPECT_LT(test::max_abs_diff(relu(y_ref), z), 1e-3);
}

// A residual stage as the CIFAR ResNets build it, and a pooled head: every gradient must match
// the reference kernels whatever layouts the tensors travelled in.
Tensor residual_net(const TensorList& in, bool training) {
  const Tensor &x = in[0], &w1 = in[1], &w2 = in[2], &w3 = in[3], &g = in[4], &b = in[5],
               &fc = in[6];
  Tensor rm = Tensor::zeros({16}), rv = Tensor::ones({16});
  Tensor rm2 = Tensor::zeros({16}), rv2 = Tensor::ones({16});
  Tensor h = relu(batch_norm(conv2d(x, w1, Tensor(), Conv2dParams().set_padding(1)), g, b, rm, rv,
                             training, 0.1, 1e-5));
  Tensor r = batch_norm(conv2d(h, w2, Tensor(), Conv2dParams().set_padding(1)), g, b, rm2, rv2,
                        training, 0.1, 1e-5);
  Tensor s = relu(add(r, h));
  Tensor p = max_pool2d(s, Pool2dParams(2));
  Tensor q = relu(conv2d(p, w3, Tensor(), Conv2dParams().set_stride(2).set_padding(1)));
  Tensor a = add(avg_pool2d(q, Pool2dParams(2)), avg_pool2d(q, Pool2dParams(2)));
  return linear(global_avg_pool2d(a).flatten(), fc);
}

TensorList residual_inputs() {
  Generator gen(7);
  auto var = [&](const Shape& s, double scale) {
    Tensor t = mul(Tensor::randn(s, &gen), scale);
    t.set_requires_grad();
    return t;
  };
  return {var({8, 3, 12, 12}, 1.0), var({16, 3, 3, 3}, 0.3), var({16, 16, 3, 3}, 0.1),
          var({32, 16, 3, 3}, 0.1), var({16}, 1.0),          var({16}, 0.5),
          var({10, 32}, 0.2)};
}

TEST(Layouts, ResidualChainTrainingMatchesReference) {
  EXPECT_TRUE(test::compare_backends([](const TensorList& in) { return residual_net(in, true); },
                                     residual_inputs(), 2e-4, 2e-4));
}

TEST(Layouts, ResidualChainEvalMatchesReference) {
  EXPECT_TRUE(test::compare_backends([](const TensorList& in) { return residual_net(in, false); },
                                     residual_inputs(), 2e-4, 2e-4));
}

}  // namespace
}  // namespace convkit
