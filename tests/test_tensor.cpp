#include <gtest/gtest.h>

#include <cstdint>

#include "support/gradcheck.h"

using namespace convkit;

TEST(Tensor, FactoriesAndAccess) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), Shape({2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.at({1, 2}), 0.0);
  Tensor f = Tensor::full({4}, 2.5);
  EXPECT_EQ(f.at({3}), 2.5);
  Tensor a = Tensor::arange(5);
  EXPECT_EQ(a.at({4}), 4.0);
  Tensor l = Tensor::arange(0, 3, 1, DType::i64);
  EXPECT_EQ(l.dtype(), DType::i64);
  EXPECT_EQ(l.data<int64_t>()[2], 2);
  Tensor v = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(v.at({1, 0}), 4.0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.raw_data()) % 64, 0u);
  EXPECT_THROW_WITH(Tensor::from_vector<float>({1, 2}, {3}), "2 values", "[3]");
  EXPECT_THROW_WITH(v.data<double>(), "float32", "float64");
  EXPECT_THROW_WITH(v.at({2, 0}), "out of range");
}

TEST(Tensor, SeededRandomIsReproducible) {
  Generator g1(7), g2(7), g3(8);
  Tensor a = Tensor::randn({100}, &g1), b = Tensor::randn({100}, &g2),
         c = Tensor::randn({100}, &g3);
  EXPECT_EQ(test::max_abs_diff(a, b), 0.0);
  EXPECT_GT(test::max_abs_diff(a, c), 0.0);
  Tensor u = Tensor::uniform({1000}, -1, 1, &g1);
  for (int64_t i = 0; i < u.numel(); ++i) {
    EXPECT_GE(u.data<float>()[i], -1.f);
    EXPECT_LT(u.data<float>()[i], 1.f);
  }
  std::string st = g1.state();
  double x = g1.uniform();
  g1.set_state(st);
  EXPECT_EQ(g1.uniform(), x);
  EXPECT_THROW_WITH(g1.set_state("garbage"), "malformed");
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  Tensor r = t.reshape({6, -1});
  EXPECT_EQ(r.shape(), Shape({6, 4}));
  EXPECT_EQ(r.raw_data(), t.raw_data());
  Tensor s = t.slice(1, 2);
  EXPECT_EQ(s.shape(), Shape({1, 3, 4}));
  EXPECT_EQ(s.at({0, 0, 0}), 12.0);
  s.data<float>()[0] = -1;
  EXPECT_EQ(t.at({1, 0, 0}), -1.0);
  EXPECT_EQ(t.select(1).shape(), Shape({3, 4}));
  EXPECT_EQ(t.flatten().shape(), Shape({2, 12}));
  EXPECT_THROW_WITH(t.reshape({5, 5}), "reshape", "[2,3,4]", "[5,5]");
  EXPECT_THROW_WITH(t.slice(1, 3), "slice", "[2,3,4]");
}

TEST(Tensor, FromBlobWrapsCallerBuffer) {
  std::vector<float> buf = {1, 2, 3, 4};
  Tensor t = Tensor::from_blob(buf.data(), {2, 2}, DType::f32);
  buf[3] = 9;
  EXPECT_EQ(t.at({1, 1}), 9.0);
  bool freed = false;
  {
    float* owned = new float[4]();
    Tensor o = Tensor::from_blob(owned, {4}, DType::f32, [&](void* p) {
      delete[] static_cast<float*>(p);
      freed = true;
    });
  }
  EXPECT_TRUE(freed);
}

TEST(Tensor, CloneToAndToString) {
  Tensor t = Tensor::from_vector<float>({1.5f, -2.f}, {2});
  Tensor c = t.clone();
  c.data<float>()[0] = 0;
  EXPECT_EQ(t.at({0}), 1.5);
  Tensor i = t.to(DType::i64);
  EXPECT_EQ(i.data<int64_t>()[1], -2);
  EXPECT_NE(t.to_string().find("shape=[2]"), std::string::npos);
  EXPECT_NE(t.to_string().find("-2"), std::string::npos);
}
