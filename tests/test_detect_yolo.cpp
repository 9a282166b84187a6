// detect/yolo.h and train/detection.h: targets by hand, decode inverting the targets, the loss's
// gradient by finite differences, and a tiny detector trained through the Trainer.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/autograd.h"
#include "convkit/data/detection.h"
#include "convkit/data/shapes.h"
#include "convkit/detect/yolo.h"
#include "convkit/optim/adam.h"
#include "convkit/train/detection.h"
#include "convkit/train/trainer.h"
#include "support/gradcheck.h"
#include "support/image_files.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

detect::YoloConfig small_config() {
  detect::YoloConfig c;
  c.image_size = 64;
  c.grid = 4;  // cells of 16 px
  c.num_classes = 3;
  c.anchors = {{8, 8}, {32, 16}};
  return c;
}

// One object [20, 4, 44, 20] of class 2 in image 1 of 2; the other slot is padding.
void one_object(Tensor* boxes, Tensor* labels) {
  *boxes = Tensor::zeros({2, 2, 4});
  *labels = Tensor::full({2, 2}, -1, DType::i64);
  float* b = boxes->data<float>() + 2 * 4;  // image 1, slot 0
  b[0] = 20, b[1] = 4, b[2] = 44, b[3] = 20;
  labels->data<int64_t>()[2] = 2;
}

TEST(DetectYolo, TargetsByHand) {
  Tensor boxes, labels;
  one_object(&boxes, &labels);
  const detect::YoloTargets t = detect::build_yolo_targets(small_config(), boxes, labels);
  // Centre (32, 12): column 2, row 0. Size 24 x 16: centred IoU 64/384 with 8x8, 384/512 with
  // 32x16, so anchor 1. Row = ((n S + i) S + j) B + b = ((1*4 + 0)*4 + 2)*2 + 1.
  ASSERT_EQ(t.object_rows, (std::vector<int64_t>{37}));
  const float* v = t.box.data<float>();
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_FLOAT_EQ(v[1], 0.75f);
  EXPECT_FLOAT_EQ(v[2], std::log(24.0f / 32.0f));
  EXPECT_FLOAT_EQ(v[3], 0.0f);
  EXPECT_EQ(t.label.data<int64_t>()[0], 2);
  EXPECT_EQ(t.gt_image, (std::vector<int64_t>{1}));
  labels.data<int64_t>()[2] = 3;
  EXPECT_THROW_WITH(detect::build_yolo_targets(small_config(), boxes, labels), "image 1 object 0",
                    "label 3", "[0, 3)");
}

// An output that says exactly the targets decodes to the ground truth, and its loss is ~0.
TEST(DetectYolo, PerfectOutputDecodesToTheBoxesWithNearZeroLoss) {
  const detect::YoloConfig c = small_config();
  Tensor boxes, labels;
  one_object(&boxes, &labels);
  const detect::YoloTargets t = detect::build_yolo_targets(c, boxes, labels);
  const int64_t K = 5 + c.num_classes, B = c.num_anchors(), S = c.grid;
  Tensor out = Tensor::zeros({2, B * K, S, S});
  float* o = out.data<float>();
  auto at = [&](int64_t n, int64_t b, int64_t k, int64_t i, int64_t j) -> float& {
    return o[(((n * B + b) * K + k) * S + i) * S + j];
  };
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t j = 0; j < S; ++j) at(n, b, 4, i, j) = -30;  // no object anywhere
  const float* tv = t.box.data<float>();
  auto logit = [](float p) { return std::log(p / (1 - p)); };
  at(1, 1, 0, 0, 2) = -30;  // sigmoid -> 0 = tx*
  at(1, 1, 1, 0, 2) = logit(tv[1]);
  at(1, 1, 2, 0, 2) = tv[2];
  at(1, 1, 3, 0, 2) = tv[3];
  at(1, 1, 4, 0, 2) = 30;
  at(1, 1, 5 + 2, 0, 2) = 30;
  const std::vector<metrics::Detection> d = detect::yolo_decode(out, c, 0.5, 0.5);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].image, 1);
  EXPECT_EQ(d[0].label, 2);
  EXPECT_NEAR(d[0].box.x1, 20, 1e-3);
  EXPECT_NEAR(d[0].box.y1, 4, 1e-3);
  EXPECT_NEAR(d[0].box.x2, 44, 1e-3);
  EXPECT_NEAR(d[0].box.y2, 20, 1e-3);
  EXPECT_LT(detect::yolo_loss(out, c, t).item(), 1e-6);
  // Wrong class: the loss grows by about the 30-logit margin; the detection changes label.
  at(1, 1, 5 + 2, 0, 2) = 0;
  at(1, 1, 5 + 0, 0, 2) = 30;
  EXPECT_NEAR(detect::yolo_loss(out, c, t).item(), 30.0 / 2, 0.01);  // divided by N = 2
  EXPECT_EQ(detect::yolo_decode(out, c, 0.5, 0.5)[0].label, 0);
  EXPECT_THROW_WITH(detect::yolo_loss(Tensor::zeros({2, 7, 4, 4}), c, t), "yolo_loss", "[2,7,4,4]",
                    "[N, 16, 4, 4]");
}

// The loss's gradient (every term) by central differences in float64.
TEST(DetectYolo, LossGradcheck) {
  detect::YoloConfig c = small_config();
  c.grid = 2;
  c.image_size = 32;
  Tensor boxes = Tensor::from_vector(
      std::vector<float>{2, 3, 12, 15, 17, 18, 30, 26, 5, 20, 14, 31, 0, 0, 0, 0},
      Shape({2, 2, 4}));
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 2, 1, -1}, Shape({2, 2}));
  const detect::YoloTargets t = detect::build_yolo_targets(c, boxes, labels);
  ASSERT_EQ(t.object_rows.size(), 3u);
  detect::YoloLossOptions o;
  o.ignore_iou = 1.0;  // the ignore mask is piecewise constant: keep it fixed under perturbation
  const Tensor x = test::rand_var({2, c.channels(), 2, 2}, 5);
  EXPECT_TRUE(test::gradcheck(
      [&](const TensorList& in) { return detect::yolo_loss(in[0], c, t, o); }, {x}));
}

// Predictions overlapping an object well are not pushed to "no object".
TEST(DetectYolo, IgnoreThresholdSparesGoodUnassignedPredictions) {
  const detect::YoloConfig c = small_config();
  Tensor boxes, labels;
  one_object(&boxes, &labels);
  const detect::YoloTargets t = detect::build_yolo_targets(c, boxes, labels);
  // An all-zero output: every box is its anchor at its cell's centre. Anchor 1 (32 x 16) of cell
  // (0, 1) is [8, 0, 40, 16], IoU 240 / 656 = 0.37 with the object: ignored at 0.3.
  Tensor out = Tensor::full({2, c.channels(), 4, 4}, 0.0);
  detect::YoloLossOptions keep_all, ignore;
  keep_all.ignore_iou = 1.0;
  ignore.ignore_iou = 0.3;
  EXPECT_LT(detect::yolo_loss(out, c, t, ignore).item(),
            detect::yolo_loss(out, c, t, keep_all).item());
}

// make-shapes images through DetectionDataset, DetectionTask and the Trainer: the detector learns
// its training set (mAP@0.5 from ~0 to above 0.5).
TEST(DetectYolo, TrainsThroughTheTrainer) {
  // 2 s with oneDNN, 30 s with the reference kernels: the task is backend-independent.
  if (!test::large_models_run_here()) GTEST_SKIP() << "dnnl in optimized builds only";
  test::TempDir dir;
  data::ShapesOptions so;
  so.count = 24;
  so.size = 32;
  so.objects_max = 2;
  so.classes = {"circle", "square"};
  data::write_shapes_dataset(dir.path(), so);
  auto ds = std::make_shared<data::DetectionDataset>(data::read_box_csv(dir.path("boxes.csv")), 32);
  detect::YoloConfig c;
  c.image_size = 32;
  c.grid = 4;
  c.num_classes = 2;
  c.anchors = {{8, 8}, {14, 14}};
  manual_seed(3);
  auto model = detect::make_yolo_darknet(c, /*width=*/8);
  optim::Adam opt({{model->parameters(), /*lr=*/3e-3}});
  train::DetectionTask task(c);
  data::DataLoader loader(
      ds, {.batch_size = 8, .shuffle = true, .seed = 1, .prefetch = 0, .workers = 1});
  data::DataLoader eval_loader(ds,
                               {.batch_size = 24, .shuffle = false, .prefetch = 0, .workers = 1});
  const double before = task.evaluate(*model, eval_loader).at("map50");
  train::Trainer trainer(*model, opt, task, loader, nullptr, {.epochs = 60});
  ASSERT_TRUE(trainer.run());
  const train::Logs after = task.evaluate(*model, eval_loader);
  EXPECT_LT(before, 0.2);
  EXPECT_GT(after.at("map50"), 0.5) << "loss " << after.at("loss");
  EXPECT_LE(after.at("map"), after.at("map50"));
}

}  // namespace
}  // namespace convkit
