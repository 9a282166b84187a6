// upsample_bilinear2d (convkit/ops/shape_ops.h): hand-computed values, finite differences in
// double, PyTorch's F.interpolate(mode="bilinear") in both align_corners modes, bad arguments.
#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

TEST(UpsampleBilinear, HandComputedCorners) {
  // [[0, 1], [2, 3]] to 3x3: align_corners keeps the corners and puts the means between them.
  const Tensor x = Tensor::from_vector<float>({0, 1, 2, 3}, {1, 1, 2, 2});
  Tensor y = upsample_bilinear2d(x, {3, 3, /*align_corners=*/true});
  EXPECT_EQ(y.at({0, 0, 0, 0}), 0.0);
  EXPECT_EQ(y.at({0, 0, 0, 1}), 0.5);
  EXPECT_EQ(y.at({0, 0, 1, 1}), 1.5);
  EXPECT_EQ(y.at({0, 0, 2, 2}), 3.0);
  // Pixel centres, 2 -> 4: outputs 0 and 3 clamp to the edges, 1 and 2 sit at 0.25 and 0.75.
  y = upsample_bilinear2d(x, {1, 4, /*align_corners=*/false});
  // One output row: s = 0.5 * 2 - 0.5 = 0.5, halfway between the two input rows.
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 0})), 1.0f);
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 1})), 1.25f);
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 2})), 1.75f);
  EXPECT_FLOAT_EQ(float(y.at({0, 0, 0, 3})), 2.0f);
}

TEST(UpsampleBilinear, Gradcheck) {
  struct Case {
    Shape x;
    int64_t oh, ow;
  };
  for (const Case& c : {Case{{2, 3, 3, 4}, 6, 8}, Case{{1, 2, 4, 3}, 7, 5},
                        Case{{1, 2, 7, 6}, 3, 4}, Case{{2, 5, 4}, 1, 3}})
    for (bool align_corners : {false, true}) {
      const UpsampleBilinear2dParams p{c.oh, c.ow, align_corners};
      EXPECT_TRUE(gradcheck([p](const TensorList& in) { return upsample_bilinear2d(in[0], p); },
                            {rand_var(c.x, 7)}))
          << c.x.to_string() << " -> " << c.oh << "x" << c.ow << " align_corners " << align_corners;
    }
}

// PyTorch parity (tests/golden/gen_upsample_bilinear.py): forward and the input gradient of
// sum(y * r) for up, down and 1x1 outputs, in both align_corners modes.
TEST(UpsampleBilinear, GoldenPyTorch) {
  io::SafetensorsFile f = test::load_golden("upsample_bilinear");
  int cases = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string name = "case" + std::to_string(i);
    const int64_t* q = test::golden_tensor(f, name + ".params").data<int64_t>();
    Tensor x = test::golden_tensor(f, name + ".x").clone().set_requires_grad(true);
    Tensor y = upsample_bilinear2d(x, {q[0], q[1], q[2] != 0});
    Tensor want = test::golden_tensor(f, name + ".y");
    ASSERT_EQ(y.shape(), want.shape()) << name;
    EXPECT_LE(test::rel_error(y, want), 1e-6) << name;
    sum(mul(y, test::golden_tensor(f, name + ".r"))).backward();
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, name + ".dx")), 1e-5) << name;
    ++cases;
  }
  EXPECT_EQ(cases, 10);
}

TEST(UpsampleBilinear, BadArgumentsNameTheProblem) {
  EXPECT_THROW_WITH(upsample_bilinear2d(Tensor::zeros({4}), {2, 2}), "upsample_bilinear2d",
                    "at least 2 dims", "[4]");
  EXPECT_THROW_WITH(upsample_bilinear2d(Tensor::zeros({1, 1, 2, 2}), {0, 3}), "upsample_bilinear2d",
                    "0x3", "[1,1,2,2]");
  EXPECT_THROW_WITH(upsample_bilinear2d(Tensor::zeros({1, 0, 2}), {2, 2}), "empty plane");
  EXPECT_THROW_WITH(upsample_bilinear2d(Tensor::zeros({1, 2, 2}, DType::i64), {2, 2}),
                    "upsample_bilinear2d", "floating");
  EXPECT_THROW_WITH(upsample_bilinear2d(Tensor(), {2, 2}), "undefined");
}
