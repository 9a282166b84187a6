// Indexing ops (convkit/ops/indexing.h): PyTorch goldens (tests/golden/gen_indexing.py), gradient
// checks in float64, the rank rules PyTorch leaves implicit (NaN, ties), and every error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "convkit/convkit.h"
#include "support/golden.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

using Ints = std::vector<int64_t>;
Tensor ints(const Ints& v, const Shape& s) { return Tensor::from_vector(v, s); }
Tensor ints(const Ints& v) { return ints(v, {int64_t(v.size())}); }

void expect_equal_ints(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), DType::i64) << what;
  for (int64_t k = 0; k < got.numel(); ++k)
    ASSERT_EQ(got.data<int64_t>()[k], want.data<int64_t>()[k]) << what << " element " << k;
}

// y = op(x) and dx of sum(y * r) against PyTorch's.
void check_golden(const io::SafetensorsFile& f, const std::string& name,
                  const std::function<Tensor(const Tensor&)>& op) {
  Tensor x = test::golden_tensor(f, name + ".x").clone().set_requires_grad(true);
  Tensor y = op(x);
  EXPECT_LE(test::rel_error(y, test::golden_tensor(f, name + ".y")), 1e-6) << name;
  sum(mul(y, test::golden_tensor(f, name + ".r"))).backward();
  EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, name + ".dx")), 1e-5) << name;
}

TEST(Indexing, MatchesPyTorch) {
  io::SafetensorsFile f = test::load_golden("indexing");
  auto param = [&](const std::string& name, int k) {
    return test::golden_tensor(f, name + ".params").data<int64_t>()[k];
  };
  for (int i = 0; i < 3; ++i) {
    const std::string n = "index_select" + std::to_string(i);
    const Tensor idx = test::golden_tensor(f, n + ".index");
    check_golden(f, n, [&](const Tensor& x) { return index_select(x, int(param(n, 0)), idx); });
    const std::string g = "gather" + std::to_string(i);
    const Tensor gidx = test::golden_tensor(f, g + ".index");
    check_golden(f, g, [&](const Tensor& x) { return gather(x, int(param(g, 0)), gidx); });
    const std::string t = "topk" + std::to_string(i);
    TopKParams p;
    p.set_k(param(t, 0)).set_dim(int(param(t, 1))).set_largest(param(t, 2) != 0);
    check_golden(f, t, [&](const Tensor& x) { return topk(x, p).values; });
    expect_equal_ints(topk(test::golden_tensor(f, t + ".x"), p).indices,
                      test::golden_tensor(f, t + ".indices"), t);
  }
  for (int i = 0; i < 2; ++i) {
    const std::string n = "where" + std::to_string(i);
    Tensor a = test::golden_tensor(f, n + ".a").clone().set_requires_grad(true);
    Tensor b = test::golden_tensor(f, n + ".b").clone().set_requires_grad(true);
    Tensor y = where(test::golden_tensor(f, n + ".cond"), a, b);
    EXPECT_LE(test::rel_error(y, test::golden_tensor(f, n + ".y")), 1e-7) << n;
    sum(mul(y, test::golden_tensor(f, n + ".r"))).backward();
    EXPECT_LE(test::rel_error(a.grad(), test::golden_tensor(f, n + ".da")), 1e-6) << n;
    EXPECT_LE(test::rel_error(b.grad(), test::golden_tensor(f, n + ".db")), 1e-6) << n;
    const std::string s = "argsort" + std::to_string(i);
    ArgsortParams ap;
    ap.set_dim(int(param(s, 0))).set_descending(param(s, 1) != 0);
    expect_equal_ints(argsort(test::golden_tensor(f, s + ".x"), ap),
                      test::golden_tensor(f, s + ".y"), s);
  }
}

TEST(Indexing, GradientsByFiniteDifferences) {
  // Repeated and skipped rows: the backward must add, not overwrite.
  EXPECT_TRUE(test::gradcheck(
      [](const TensorList& in) {
        return index_select(in[0], 1, ints({2, 0, 2, 2}));
      },
      {test::rand_var({2, 3, 4}, 1)}));
  const Tensor gidx = ints({0, 2, 2, 1, 1, 1, 0, 0}, {2, 2, 2});
  EXPECT_TRUE(test::gradcheck([&](const TensorList& in) { return gather(in[0], 1, gidx); },
                              {test::rand_var({2, 3, 3}, 2)}));
  // Broadcast a and b: the gradients sum over the broadcast dims.
  const Tensor cond = Tensor::from_vector(std::vector<uint8_t>{1, 0, 0, 1, 1, 0}, {2, 3});
  EXPECT_TRUE(test::gradcheck([&](const TensorList& in) { return where(cond, in[0], in[1]); },
                              {test::rand_var({1, 3}, 3), test::rand_var({2, 1}, 4)}));
  for (bool largest : {true, false})
    EXPECT_TRUE(test::gradcheck(
        [&](const TensorList& in) {
          return topk(in[0], TopKParams().set_k(2).set_dim(0).set_largest(largest)).values;
        },
        {test::rand_var({5, 3}, 5)}));
}

TEST(Indexing, AnyDtypeAndRankRules) {
  // int64 data (ONNX shape arithmetic) through index_select, gather and where.
  const Tensor s = ints({8, 3, 224, 224});
  expect_equal_ints(index_select(s, 0, ints({0, 3})), ints({8, 224}), "index_select int64");
  expect_equal_ints(gather(s, 0, ints({2, 2, 1})), ints({224, 224, 3}), "gather int64");
  const Tensor mask = Tensor::from_vector(std::vector<uint8_t>{0, 1, 1, 0}, {4});
  expect_equal_ints(where(mask, s, ints({0})), ints({0, 3, 224, 0}), "where int64");
  // NaN ranks above every number; ties keep index order; unsorted lists the picks by index.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector(std::vector<float>{1, nan, 3, 3, -2}, {5});
  expect_equal_ints(topk(x, TopKParams().set_k(3)).indices, ints({1, 2, 3}), "NaN largest");
  expect_equal_ints(topk(x, TopKParams().set_k(2).set_largest(false)).indices, ints({4, 0}),
                    "smallest");
  expect_equal_ints(topk(x, TopKParams().set_k(3).set_sorted(false)).indices, ints({1, 2, 3}),
                    "unsorted");
  expect_equal_ints(argsort(x), ints({4, 0, 2, 3, 1}), "argsort ascending, stable");
  expect_equal_ints(argsort(x, ArgsortParams().set_descending(true)), ints({1, 2, 3, 0, 4}),
                    "argsort descending, stable");
  EXPECT_EQ(topk(x, TopKParams().set_k(0)).values.numel(), 0);
}

TEST(Indexing, ErrorsNameTheProblem) {
  const Tensor x = Tensor::randn({3, 4});
  EXPECT_THROW_WITH(index_select(x, 1, ints({0, 4})), "index_select: index 4",
                    "out of range for dim 1 of [3,4]");
  EXPECT_THROW_WITH(index_select(x, 0, ints({-1})), "index -1");
  EXPECT_THROW_WITH(index_select(x, 0, Tensor::zeros({2})), "index must be int64, got float32");
  EXPECT_THROW_WITH(index_select(x, 0, ints({0, 1}, {1, 2})), "index must be 1-D, got [1,2]");
  EXPECT_THROW_WITH(index_select(x, 2, ints({0})), "index_select: dimension 2 is out of range");
  EXPECT_THROW_WITH(gather(x, 0, ints({0, 1})),
                    "gather: index [2] must have the ndim of input [3,4]");
  EXPECT_THROW_WITH(gather(x, 0, ints({0, 0, 0, 0, 0}, {1, 5})), "no larger size in any dim but 0");
  EXPECT_THROW_WITH(gather(x, 1, ints({7}, {1, 1})), "gather: index 7", "dim 1 of [3,4]");
  const Tensor cond = Tensor::ones({3, 4}, DType::u8);
  EXPECT_THROW_WITH(where(Tensor::ones({3, 4}), x, x), "where: cond must be uint8", "float32");
  EXPECT_THROW_WITH(where(cond, x, x.to(DType::f64)), "where: a is float32 [3,4] but b is float64");
  EXPECT_THROW_WITH(where(cond, x, Tensor::randn({2, 4})), "where", "[3,4]", "[2,4]");
  EXPECT_THROW_WITH(topk(x, TopKParams().set_k(5)),
                    "topk: k = 5 is out of range for dim 1 of [3,4]");
  EXPECT_THROW_WITH(topk(x, TopKParams().set_dim(3)), "topk: dimension 3 is out of range");
  EXPECT_THROW_WITH(argsort(Tensor::full({}, 1.0)), "argsort: input must have at least one dim");
}

}  // namespace
}  // namespace convkit
