// detect/localization.h: the class + one-box loss (by hand and by finite differences) and a small
// network trained through the Trainer on single-object shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/convkit.h"
#include "convkit/data/detection.h"
#include "convkit/data/shapes.h"
#include "convkit/detect/localization.h"
#include "convkit/optim/adam.h"
#include "convkit/train/trainer.h"
#include "support/gradcheck.h"
#include "support/image_files.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

TEST(DetectLocalization, LossByHandAndGradcheck) {
  detect::LocalizationOptions o;
  o.num_classes = 2;
  o.beta = 0.5;
  o.box_weight = 2;
  // Logits (0, 0): CE = log 2. Box off by 0.25 in cx only: smooth-L1 0.5 * 0.25^2 / 0.5 over 4.
  const Tensor out =
      Tensor::from_vector(std::vector<float>{0, 0, 0.75f, 0.5f, 0.2f, 0.3f}, Shape({1, 6}));
  const Tensor boxes =
      Tensor::from_vector(std::vector<float>{0.5f, 0.5f, 0.2f, 0.3f}, Shape({1, 4}));
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{1}, Shape({1}));
  EXPECT_NEAR(detect::localization_loss(out, labels, boxes, o).item(),
              std::log(2.0) + 2 * (0.5 * 0.0625 / 0.5) / 4, 1e-5);
  const detect::Box b = detect::localization_box(out, 0, o);  // (0.75, 0.5, 0.2, 0.3) * 64
  EXPECT_NEAR(b.x1, 41.6, 1e-4);
  EXPECT_NEAR(b.y2, 41.6, 1e-4);
  const Tensor x = test::rand_var({3, 6}, 4);
  const Tensor t = Tensor::from_vector(
      std::vector<float>{0.2f, 0.3f, 0.1f, 0.4f, 0.5f, 0.5f, 0.3f, 0.3f, 0.7f, 0.6f, 0.2f, 0.2f},
      Shape({3, 4}));
  const Tensor l = Tensor::from_vector(std::vector<int64_t>{0, 1, 1}, Shape({3}));
  EXPECT_TRUE(test::gradcheck(
      [&](const TensorList& in) { return detect::localization_loss(in[0], l, t, o); }, {x}));
  EXPECT_THROW_WITH(detect::localization_loss(Tensor::zeros({1, 5}), labels, boxes, o),
                    "[N, 2 classes + 4]", "[1,5]");
}

TEST(DetectLocalization, TrainsOnSingleObjectShapes) {
  if (!test::large_models_run_here()) GTEST_SKIP() << "dnnl in optimized builds only";
  test::TempDir dir;
  data::ShapesOptions so;
  so.count = 32;
  so.size = 32;
  so.classes = {"circle", "square"};
  data::write_shapes_dataset(dir.path(), so);
  auto ds = std::make_shared<data::DetectionDataset>(data::read_box_csv(dir.path("boxes.csv")), 32);
  using namespace nn;
  manual_seed(5);
  auto model = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(3, 16, 3, 1, 1), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2, 2), std::make_shared<Conv2d>(16, 32, 3, 1, 1),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2), std::make_shared<Flatten>(),
      std::make_shared<Linear>(32 * 8 * 8, 2 + 4)});
  detect::LocalizationOptions o;
  o.num_classes = 2;
  o.image_size = 32;
  detect::LocalizationTask task(o);
  optim::Adam opt({{model->parameters(), /*lr=*/2e-3}});
  data::DataLoader loader(
      ds, {.batch_size = 8, .shuffle = true, .seed = 2, .prefetch = 0, .workers = 1});
  data::DataLoader eval_loader(ds,
                               {.batch_size = 32, .shuffle = false, .prefetch = 0, .workers = 1});
  const train::Logs before = task.evaluate(*model, eval_loader);
  train::Trainer trainer(*model, opt, task, loader, nullptr, {.epochs = 100});
  ASSERT_TRUE(trainer.run());
  const train::Logs after = task.evaluate(*model, eval_loader);
  EXPECT_LT(before.at("loc_acc"), 0.3);
  EXPECT_GT(after.at("acc"), 0.9);
  EXPECT_GT(after.at("loc_acc"), 0.7) << "loss " << after.at("loss");
  EXPECT_LE(after.at("both"), after.at("acc"));
}

}  // namespace
}  // namespace convkit
