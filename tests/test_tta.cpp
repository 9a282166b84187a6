// Test-time augmentation: the views (windows, flips), the spec parser, and evaluate()'s averaging.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/autograd.h"
#include "convkit/data/dataset.h"
#include "convkit/infer/evaluate.h"
#include "convkit/infer/tta.h"
#include "convkit/models/registry.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/shape_ops.h"
#include "convkit/random.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

Tensor ramp(int64_t n, int64_t c, int64_t h, int64_t w) {
  return Tensor::arange(0, double(n * c * h * w)).reshape({n, c, h, w});
}

void expect_same(const Tensor& a, const Tensor& b, double tol = 0) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], tol) << "element " << i;
}

TEST(Tta, ViewsStartWithTheImageAndMirrorEveryView) {
  const auto views = infer::tta_views(infer::parse_tta("flip,5crop,zoom=1.5"));
  ASSERT_EQ(views.size(), 14u);
  EXPECT_EQ(views[0].name, "identity");
  EXPECT_EQ(views[1].name, "crop top-left");
  EXPECT_EQ(views[6].name, "zoom 1.5");
  EXPECT_EQ(views[7].name, "flip");
  EXPECT_EQ(views[13].name, "zoom 1.5 flip");
  EXPECT_EQ(infer::describe(infer::parse_tta("zoom=1.2,flip")), "flip + zoom 1.2: 4 views");
  EXPECT_EQ(infer::describe(infer::parse_tta("5crop=0.75")), "5 crops (0.75): 6 views");
}

TEST(Tta, WindowsAreResizedBackAndFlipsMirror) {
  const Tensor x = ramp(2, 3, 8, 8);
  NoGradGuard no_grad;
  expect_same(infer::tta_view(x, {}), x);
  const Tensor f = infer::tta_view(x, {0, 0, 1, true, "flip"});
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 8; ++j) ASSERT_EQ(f.at({1, 2, i, j}), x.at({1, 2, i, 7 - j}));
  // 0.75 of 8 is a 6-pixel window; the top-right one starts at column 2.
  const auto views = infer::tta_views(infer::parse_tta("5crop=0.75,zoom=2"));
  const UpsampleBilinear2dParams back{.out_h = 8, .out_w = 8, .align_corners = false};
  expect_same(infer::tta_view(x, views[2]),
              upsample_bilinear2d(narrow(narrow(x, 2, 0, 6), 3, 2, 6), back), 1e-5);
  expect_same(infer::tta_view(x, views[3]),  // bottom-left
              upsample_bilinear2d(narrow(narrow(x, 2, 2, 6), 3, 0, 6), back), 1e-5);
  expect_same(infer::tta_view(x, views[5]),  // centre: 1 pixel in from each side
              upsample_bilinear2d(narrow(narrow(x, 2, 1, 6), 3, 1, 6), back), 1e-5);
  expect_same(infer::tta_view(x, views[6]),  // zoom 2: the centre 4 x 4
              upsample_bilinear2d(narrow(narrow(x, 2, 2, 4), 3, 2, 4), back), 1e-5);
}

TEST(Tta, BadSpecsSayWhatIsAccepted) {
  EXPECT_THROW_WITH(infer::parse_tta("flip,rotate"), "unknown view 'rotate'", "5crop", "zoom");
  EXPECT_THROW_WITH(infer::parse_tta("zoom=big"), "'zoom=big' needs a number");
  EXPECT_THROW_WITH(infer::parse_tta("zoom"), "unknown view 'zoom'");
  EXPECT_THROW_WITH(infer::parse_tta("5crop=1.5"), "(0, 1)", "1.5");
  EXPECT_THROW_WITH(infer::parse_tta("zoom=0.5"), "(1, 4]");
  EXPECT_THROW_WITH(infer::parse_tta("zoom=nan"), "needs a number");
  EXPECT_THROW_WITH(infer::parse_tta(""), "no views");
  EXPECT_THROW_WITH(infer::tta_view(Tensor::zeros({3, 8, 8}), {}), "[N, C, H, W]");
}

// The TTA probabilities are the mean of the views' softmax, batch by batch, and the plain result
// comes from the same pass unchanged.
TEST(Tta, EvaluateAveragesTheViewsAndKeepsThePlainResult) {
  infer::ModelBundle b;
  b.module =
      models::create_model("small-cnn", {.in_channels = 3, .num_classes = 4, .image_size = 16});
  b.name = "small-cnn";
  b.in_channels = 3;
  b.num_classes = 4;
  b.image_size = 16;
  const infer::Session session(b);
  Generator gen(11);
  const Tensor x = Tensor::randn({7, 3, 16, 16}, &gen);
  const Tensor y = Tensor::from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2}, {7});
  auto ds = std::make_shared<data::TensorDataset>(x, y, 4);

  infer::EvalOptions o;
  o.batch_size = 3;  // the averaging crosses batch boundaries
  o.keep_probabilities = true;
  o.tta = infer::parse_tta("flip,5crop=0.75");
  const infer::Evaluation r = infer::evaluate(session, ds, "seven", o);
  const infer::Evaluation plain = infer::evaluate(
      session, ds, "seven", {.batch_size = 7, .keep_probabilities = true, .tta = {}});
  ASSERT_TRUE(r.tta);
  EXPECT_FALSE(plain.tta);
  expect_same(r.probabilities, plain.probabilities, 1e-6);
  EXPECT_NEAR(r.loss, plain.loss, 1e-6);
  EXPECT_EQ(r.top1, plain.top1);

  NoGradGuard no_grad;
  const auto views = infer::tta_views(*o.tta);
  Tensor sum = Tensor::zeros({7, 4});
  for (const auto& v : views) sum = add(sum, softmax(session.logits(infer::tta_view(x, v)), 1));
  const Tensor mean = mul(sum, 1.0 / double(views.size()));
  expect_same(r.tta->probabilities, mean, 1e-5);
  double nll = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < 7; ++i) {
    const int64_t label = y.data<int64_t>()[i];
    nll -= std::log(mean.at({i, label})) / 7;
    int64_t best = 0;
    for (int64_t c = 1; c < 4; ++c)
      if (mean.at({i, c}) > mean.at({i, best})) best = c;
    correct += best == label;
  }
  EXPECT_NEAR(r.tta->loss, nll, 1e-5);
  EXPECT_DOUBLE_EQ(r.tta->top1, double(correct) / 7);
  EXPECT_EQ(r.tta->confusion.total(), 7);
  EXPECT_EQ(r.tta->labels.numel(), 7);
}

}  // namespace
}  // namespace convkit
