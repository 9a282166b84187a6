// detect/boxes.h, box_coder.h and anchors.h on hand-computed cases and bad input (the
// torchvision comparison is test_detect_boxes_golden.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/detect/anchors.h"
#include "convkit/detect/box_coder.h"
#include "convkit/detect/boxes.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

using detect::Box;

Tensor boxes(std::vector<float> v) {
  return Tensor::from_vector(v, Shape({int64_t(v.size() / 4), 4}));
}
Tensor scores(std::vector<float> v) { return Tensor::from_vector(v, Shape({int64_t(v.size())})); }
std::vector<int64_t> ids(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

TEST(DetectBoxes, IouAndGiouByHand) {
  const Box a{0, 0, 10, 10}, b{5, 0, 15, 10};  // overlap 50, union 150
  EXPECT_FLOAT_EQ(detect::iou(a, b), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ(detect::giou(a, b), 1.0f / 3.0f);  // enclosing box == union
  const Box c{20, 0, 30, 10};                        // disjoint: enclosing 300, union 200
  EXPECT_FLOAT_EQ(detect::iou(a, c), 0.0f);
  EXPECT_FLOAT_EQ(detect::giou(a, c), -100.0f / 300.0f);
  EXPECT_FLOAT_EQ(detect::iou(a, a), 1.0f);
  const Box point{3, 3, 3, 3};
  EXPECT_EQ(detect::iou(point, point), 0.0f);  // zero union: 0, not NaN
  EXPECT_EQ(detect::giou(point, point), 0.0f);
  EXPECT_EQ(detect::iou(point, a), 0.0f);
}

TEST(DetectBoxes, FormatsRoundTrip) {
  const Tensor xyxy = boxes({1, 2, 5, 10, 0, 0, 0, 0});
  for (auto f : {detect::BoxFormat::xywh, detect::BoxFormat::cxcywh}) {
    const Tensor there = detect::box_convert(xyxy, detect::BoxFormat::xyxy, f);
    EXPECT_EQ(test::max_abs_diff(detect::box_convert(there, f, detect::BoxFormat::xyxy), xyxy), 0)
        << detect::box_format_name(f);
  }
  const Tensor c = detect::box_convert(xyxy, detect::BoxFormat::xyxy, detect::BoxFormat::cxcywh);
  EXPECT_EQ(std::vector<float>(c.data<float>(), c.data<float>() + 4),
            (std::vector<float>{3, 6, 4, 8}));
  EXPECT_EQ(detect::to_boxes(xyxy)[0], (Box{1, 2, 5, 10}));
  EXPECT_EQ(test::max_abs_diff(detect::to_tensor(detect::to_boxes(xyxy)), xyxy), 0);
}

TEST(DetectBoxes, NmsKeepsByScoreAndSeparatesClasses) {
  // 0 and 1 overlap at IoU 0.81; 2 is far away.
  const Tensor b = boxes({0, 0, 10, 10, 1, 1, 10, 10, 50, 50, 60, 60});
  const Tensor s = scores({0.6f, 0.9f, 0.7f});
  EXPECT_EQ(ids(detect::nms(b, s, 0.5)), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids(detect::nms(b, s, 0.9)), (std::vector<int64_t>{1, 2, 0}));
  const Tensor cls = Tensor::from_vector(std::vector<int64_t>{0, 1, 0}, Shape({3}));
  EXPECT_EQ(ids(detect::batched_nms(b, s, cls, 0.5)), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(detect::nms(boxes({}), scores({}), 0.5).numel(), 0);
}

TEST(DetectBoxes, SoftNmsDecaysInsteadOfDropping) {
  // A and B overlap at IoU 0.5, C is disjoint from both.
  const Tensor b = boxes({0, 0, 10, 10, 0, 0, 10, 5, 20, 20, 30, 30});
  const Tensor s = scores({0.9f, 0.8f, 0.7f});
  detect::SoftNmsOptions linear;
  linear.method = detect::SoftNmsMethod::linear;
  linear.iou_threshold = 0.3;
  detect::SoftNmsResult r = detect::soft_nms(b, s, linear);
  EXPECT_EQ(ids(r.keep), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_FLOAT_EQ(r.scores.data<float>()[2], 0.8f * 0.5f);  // s * (1 - iou)
  linear.score_threshold = 0.45;
  EXPECT_EQ(ids(detect::soft_nms(b, s, linear).keep), (std::vector<int64_t>{0, 2}));
  linear.score_threshold = 1e-3;
  linear.iou_threshold = 0.6;  // B is below N_t: untouched
  EXPECT_FLOAT_EQ(detect::soft_nms(b, s, linear).scores.data<float>()[1], 0.8f);
  detect::SoftNmsOptions gauss;  // sigma 0.5
  r = detect::soft_nms(b, s, gauss);
  EXPECT_EQ(ids(r.keep), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_NEAR(r.scores.data<float>()[2], 0.8 * std::exp(-0.25 / 0.5), 1e-6);
  EXPECT_NEAR(r.scores.data<float>()[1], 0.7, 1e-7);
}

TEST(DetectBoxes, BoxCoderInvertsItself) {
  const Tensor anchors = boxes({0, 0, 10, 20, 5, 5, 45, 25});
  const Tensor gt = boxes({2, 1, 14, 19, 0, 10, 30, 40});
  const detect::BoxCoder coder({10, 10, 5, 5});
  const Tensor d = coder.encode(gt, anchors);
  // Row 0 by hand: anchor centre (5, 10), 10 x 20; box centre (8, 10), 12 x 18.
  EXPECT_FLOAT_EQ(d.data<float>()[0], 10.0f * 3.0f / 10.0f);
  EXPECT_FLOAT_EQ(d.data<float>()[1], 0.0f);
  EXPECT_FLOAT_EQ(d.data<float>()[2], 5.0f * std::log(1.2f));
  EXPECT_FLOAT_EQ(d.data<float>()[3], 5.0f * std::log(0.9f));
  EXPECT_LT(test::max_abs_diff(coder.decode(d, anchors), gt), 1e-5);
  // A huge dw is clamped to log(1000/16): the width is at most 62.5 anchor widths.
  const Tensor wide = detect::BoxCoder().decode(boxes({0, 0, 1e6f, 0}), boxes({0, 0, 1, 1}));
  EXPECT_NEAR(wide.data<float>()[2] - wide.data<float>()[0], 62.5, 1e-3);
}

TEST(DetectBoxes, KMeansFindsTheClusters) {
  Generator g(7);
  const std::vector<detect::AnchorSize> centres{{10, 10}, {40, 20}, {20, 60}};
  std::vector<detect::AnchorSize> sizes;
  for (int i = 0; i < 300; ++i) {
    const auto& c = centres[i % 3];
    sizes.push_back({c.w * float(g.uniform(0.95, 1.05)), c.h * float(g.uniform(0.95, 1.05))});
  }
  Generator seed(1);
  const detect::KMeansAnchors r = detect::kmeans_anchors(sizes, 3, seed);
  ASSERT_EQ(r.anchors.size(), 3u);
  // Sorted by area: 10x10, 40x20 (800), 20x60 (1200).
  for (int k = 0; k < 3; ++k) {
    const auto& want = centres[k];
    EXPECT_NEAR(r.anchors[k].w, want.w, 0.03 * want.w) << k;
    EXPECT_NEAR(r.anchors[k].h, want.h, 0.03 * want.h) << k;
  }
  EXPECT_GT(r.mean_iou, 0.9);
  Generator again(1);
  const detect::KMeansAnchors r2 = detect::kmeans_anchors(sizes, 3, again);
  EXPECT_EQ(r2.anchors[1].w, r.anchors[1].w);
  // One cluster: the centroid is the mean size.
  Generator one(3);
  const detect::KMeansAnchors r1 = detect::kmeans_anchors({{2, 4}, {4, 8}, {6, 12}}, 1, one);
  EXPECT_FLOAT_EQ(r1.anchors[0].w, 4.0f);
  EXPECT_FLOAT_EQ(r1.anchors[0].h, 8.0f);
  EXPECT_FLOAT_EQ(detect::centred_iou({2, 4}, {4, 8}), 0.25f);
}

TEST(DetectBoxes, BadInputIsNamed) {
  EXPECT_THROW_WITH(detect::box_iou(boxes({0, 0, 1, 1}), boxes({5, 0, 3, 2})), "boxes2: box 0",
                    "[5, 0, 3, 2]", "x1 <= x2");
  EXPECT_THROW_WITH(detect::nms(boxes({0, 0, 1, 1}), scores({0.5f, 0.2f}), 0.5), "nms: scores",
                    "[1]");
  EXPECT_THROW_WITH(detect::nms(boxes({0, 0, 1, 1}), scores({NAN}), 0.5), "score 0 is nan");
  EXPECT_THROW_WITH(detect::nms(boxes({0, 0, 1, 1}), scores({0.5f}), 1.5), "[0, 1]", "1.5");
  EXPECT_THROW_WITH(detect::box_area(Tensor::zeros({3, 5})), "box_area", "[3,5]");
  EXPECT_THROW_WITH(
      detect::batched_nms(boxes({0, 0, 1, 1}), scores({0.5f}), Tensor::zeros({1}), 0.5),
      "classes must be int64");
  detect::SoftNmsOptions bad;
  bad.sigma = 0;
  EXPECT_THROW_WITH(detect::soft_nms(boxes({0, 0, 1, 1}), scores({1}), bad), "sigma");
  EXPECT_THROW_WITH(detect::BoxCoder().encode(boxes({0, 0, 0, 5}), boxes({0, 0, 1, 1})), "box 0",
                    "width or height <= 0");
  EXPECT_THROW_WITH(detect::BoxCoder().decode(boxes({0, 0, 1, 1}), boxes({0, 0, 1, 1, 0, 0, 1, 1})),
                    "same number of rows");
  Generator g;
  EXPECT_THROW_WITH(detect::kmeans_anchors({}, 2, g), "no boxes");
  EXPECT_THROW_WITH(detect::kmeans_anchors({{1, 1}}, 2, g), "k must be in [1, 1]");
  EXPECT_THROW_WITH(detect::kmeans_anchors({{1, 0}}, 1, g), "box 0", "1 x 0");
}

}  // namespace
}  // namespace convkit
