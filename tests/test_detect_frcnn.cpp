// Faster R-CNN (detect/rpn.h, detect/roi_heads.h, detect/faster_rcnn.h): anchors, matching, the RPN
// loss and proposals, the RoI head's loss and detections against torchvision 0.14 on the same
// numbers (tests/golden/detect_frcnn_oracle.py), then learning through the Trainer and bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/data/detection.h"
#include "convkit/data/shapes.h"
#include "convkit/detect/detector_file.h"
#include "convkit/detect/faster_rcnn.h"
#include "convkit/ops/elementwise.h"
#include "convkit/optim/adam.h"
#include "convkit/train/detection.h"
#include "convkit/train/trainer.h"
#include "support/image_files.h"
#include "support/python_oracle.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

using detect::Box;

std::vector<float> flat(const Tensor& t) {
  const Tensor f = t.detach().to(DType::f32);
  return {f.data<float>(), f.data<float>() + f.numel()};
}

nlohmann::json state_json(nn::Module& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, t] : m.state_dict()) j[name] = flat(t);
  return j;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i])))
        << what << " [" << i << "]";
}

Box jitter(const Box& b, Generator& g, float amount) {
  auto d = [&] { return float(g.uniform(-amount, amount)); };
  Box r{b.x1 + d(), b.y1 + d(), b.x2 + d(), b.y2 + d()};
  if (r.x2 <= r.x1 + 1) r.x2 = r.x1 + 2;
  if (r.y2 <= r.y1 + 1) r.y2 = r.y1 + 2;
  return r;
}

TEST(FasterRcnn, PiecesMatchTorchvision) {
  std::string why;
  if (!test::python_has("torch, torchvision", &why)) GTEST_SKIP() << why;
  Generator g(21);
  const int64_t N = 3, F = 8, side = 8, S = 64, C = 3;
  const detect::AnchorGridConfig ac{{12, 20, 32}, {0.5f, 1.f, 2.f}, S / side};
  const Tensor features = Tensor::randn({N, F, side, side}, &g);
  // Image 1 has no object (a pure negative).
  std::vector<detect::ImageTargets> targets(3);
  targets[0] = {{{4, 6, 20, 30}, {30, 30, 60, 52}}, {0, 2}};
  targets[2] = {{{10, 10, 26, 22}, {8, 40, 40, 63}, {40, 4, 56, 20}}, {1, 1, 0}};

  // Matching: random predictions, some repeated to tie for a ground truth's best.
  std::vector<Box> gt{{0, 0, 20, 20}, {30, 30, 50, 60}, {5, 40, 25, 62}};
  std::vector<Box> preds;
  for (int k = 0; k < 40; ++k) preds.push_back(jitter(gt[size_t(k % 3)], g, 12));
  preds.push_back(preds[4]);
  preds.push_back(preds[7]);
  const Tensor match_iou = detect::box_iou(detect::to_tensor(gt), detect::to_tensor(preds));

  detect::RpnHead head(F, ac.per_position());
  for (auto& [name, t] : head.named_parameters()) {
    Tensor v = Tensor::randn(t.shape(), &g);
    t.copy_(mul(v, 0.3));
    (void)name;
  }
  detect::RpnOptions ro;
  ro.batch_per_image = 1'000'000;  // every labelled anchor: no draw
  ro.pre_nms_top_n = 120;
  ro.post_nms_top_n = 40;
  ro.nms_iou = 0.7;
  ro.min_size = 1.0;

  detect::BoxHead box_head(F, C, /*representation=*/32, /*pool_size=*/7);
  std::vector<detect::Proposals> proposals(N);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<Box> p;
    std::vector<float> sc;
    for (int k = 0; k < 12; ++k) {
      const Box base = targets[size_t(n)].boxes.empty()
                           ? Box{10, 10, 40, 40}
                           : targets[size_t(n)].boxes[size_t(k) % targets[size_t(n)].boxes.size()];
      p.push_back(jitter(base, g, 8));
      sc.push_back(float(g.uniform()));
    }
    proposals[size_t(n)] = {detect::to_tensor(p), Tensor::from_vector(sc, Shape({12}))};
  }
  detect::RoiHeadsOptions rho;
  rho.batch_per_image = 1'000'000;

  nlohmann::json in = {{"image", {S, S}},
                       {"sizes", ac.sizes},
                       {"ratios", ac.ratios},
                       {"features", flat(features)},
                       {"feature_shape", {N, F, side, side}},
                       {"rpn", state_json(head)},
                       {"rpn_options",
                        {{"pre", ro.pre_nms_top_n},
                         {"post", ro.post_nms_top_n},
                         {"nms", ro.nms_iou},
                         {"min_size", ro.min_size},
                         {"score", ro.score_threshold}}},
                       {"match_iou", flat(match_iou)},
                       {"match_shape", {gt.size(), preds.size()}},
                       {"roi", state_json(box_head)},
                       {"representation", 32},
                       {"pool", 7},
                       {"num_classes", C},
                       {"roi_options",
                        {{"score", rho.score_threshold},
                         {"nms", rho.nms_iou},
                         {"per_image", rho.detections_per_image}}}};
  in["targets"] = nlohmann::json::array();
  for (const auto& t : targets) {
    nlohmann::json boxes = nlohmann::json::array();
    for (const Box& b : t.boxes) boxes.push_back({b.x1, b.y1, b.x2, b.y2});
    in["targets"].push_back({{"boxes", boxes}, {"labels", t.labels}});
  }
  in["proposals"] = nlohmann::json::array();
  for (const auto& p : proposals) {
    nlohmann::json boxes = nlohmann::json::array();
    for (const Box& b : detect::to_boxes(p.boxes)) boxes.push_back({b.x1, b.y1, b.x2, b.y2});
    in["proposals"].push_back(boxes);
  }
  const std::string base = test::onnx_work_dir() + "/frcnn_" + std::to_string(::getpid());
  std::ofstream(base + "_in.json") << in.dump();
  std::string out;
  const int rc =
      test::run_python(std::string(CONVKIT_TESTS_DIR) + "/golden/detect_frcnn_oracle.py " + base +
                           "_in.json " + base + "_out.json",
                       &out);
  std::filesystem::remove(base + "_in.json");
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(base + "_out.json"));
  std::filesystem::remove(base + "_out.json");

  const Tensor anchors = detect::grid_anchors(ac, side, side);
  EXPECT_EQ(flat(anchors), ref["anchors"].get<std::vector<float>>());
  EXPECT_EQ(detect::match_boxes(match_iou, int64_t(preds.size()), 0.7, 0.3, true),
            ref["matches"].get<std::vector<int64_t>>());

  Generator unused(1);
  const detect::RpnHead::Output r = head.run(features);
  const detect::RpnLosses rl = detect::rpn_loss(r, anchors, targets, ro, unused);
  EXPECT_NEAR(rl.objectness.item(), ref["rpn_objectness_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(rl.box.item(), ref["rpn_box_loss"].get<double>(), 1e-5);
  EXPECT_GT(rl.box.item(), 0.0);  // positives were matched
  const std::vector<detect::Proposals> got = detect::rpn_proposals(r, anchors, S, S, ro);
  for (int64_t n = 0; n < N; ++n) {
    expect_close(flat(got[size_t(n)].boxes), ref["rpn_boxes"][n].get<std::vector<double>>(), 1e-4,
                 "rpn boxes of image " + std::to_string(n));
    expect_close(flat(got[size_t(n)].scores), ref["rpn_scores"][n].get<std::vector<double>>(), 1e-5,
                 "rpn scores of image " + std::to_string(n));
  }

  const detect::RoiSamples s = detect::sample_rois(proposals, targets, rho, unused);
  const detect::BoxHead::Output h = box_head.run(features, s.rois, 1.0 / 8);
  const detect::RoiLosses hl = detect::roi_loss(h, s);
  EXPECT_NEAR(hl.classifier.item(), ref["roi_classifier_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(hl.box.item(), ref["roi_box_loss"].get<double>(), 1e-5);
  EXPECT_GT(hl.box.item(), 0.0);
  EXPECT_EQ(s.per_image.size(), 3u);

  std::vector<float> rois;
  for (size_t n = 0; n < proposals.size(); ++n)
    for (const Box& b : detect::to_boxes(proposals[n].boxes))
      rois.insert(rois.end(), {float(n), b.x1, b.y1, b.x2, b.y2});
  const detect::BoxHead::Output eval_out = box_head.run(
      features, Tensor::from_vector(rois, Shape({int64_t(rois.size() / 5), 5})), 1.0 / 8);
  const std::vector<metrics::Detection> dets =
      detect::roi_detections(eval_out, proposals, S, S, rho);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> boxes, scores;
    std::vector<int64_t> labels;
    for (const auto& d : dets)
      if (d.image == n) {
        boxes.insert(boxes.end(), {d.box.x1, d.box.y1, d.box.x2, d.box.y2});
        scores.push_back(d.score);
        labels.push_back(d.label);
      }
    const auto& want = ref["detections"][n];
    ASSERT_GT(scores.size(), 0u);
    expect_close(boxes, want["boxes"].get<std::vector<double>>(), 1e-4,
                 "detection boxes of image " + std::to_string(n));
    expect_close(scores, want["scores"].get<std::vector<double>>(), 1e-5,
                 "detection scores of image " + std::to_string(n));
    EXPECT_EQ(labels, want["labels"].get<std::vector<int64_t>>()) << n;
  }
}

TEST(FasterRcnn, SamplesAreBalancedAndDrawnFromTheGenerator) {
  std::vector<int64_t> labels(100, 0);
  for (int i = 0; i < 10; ++i) labels[size_t(i * 7)] = 1 + i % 2;
  labels[3] = labels[5] = -1;
  Generator a(4), b(4), c(5);
  const detect::BalancedSample s = detect::sample_balanced(labels, 16, 0.25, a);
  EXPECT_EQ(s.positive.size(), 4u);
  EXPECT_EQ(s.negative.size(), 12u);
  for (int64_t i : s.positive) EXPECT_GT(labels[size_t(i)], 0);
  for (int64_t i : s.negative) EXPECT_EQ(labels[size_t(i)], 0);
  EXPECT_TRUE(std::is_sorted(s.negative.begin(), s.negative.end()));
  const detect::BalancedSample same = detect::sample_balanced(labels, 16, 0.25, b);
  EXPECT_EQ(same.positive, s.positive);
  EXPECT_EQ(same.negative, s.negative);
  const detect::BalancedSample other = detect::sample_balanced(labels, 16, 0.25, c);
  EXPECT_NE(other.negative, s.negative);
  // Fewer positives than the quota: all of them, and negatives fill the batch.
  const detect::BalancedSample few = detect::sample_balanced(labels, 60, 0.5, a);
  EXPECT_EQ(few.positive.size(), 10u);
  EXPECT_EQ(few.negative.size(), 50u);
  EXPECT_THROW(detect::sample_balanced(labels, 0, 0.5, a), Error);
}

TEST(FasterRcnn, GradientsReachTheTrunkThroughBothStages) {
  detect::FasterRcnnConfig c;
  c.image_size = 32;
  c.grid = 4;
  c.num_classes = 2;
  c.backbone.width = 4;
  c.representation = 16;
  c.anchor_sizes = {8, 16};
  manual_seed(2);
  detect::FasterRcnn m(c);
  Generator g(1);
  const Tensor images = Tensor::randn({2, 3, 32, 32}, &g);
  std::vector<detect::ImageTargets> t(2);
  t[0] = {{{4, 4, 14, 16}}, {1}};
  const detect::FasterRcnn::Losses l = m.losses(images, t, g);
  for (const Tensor* x : {&l.objectness, &l.rpn_box, &l.classifier, &l.box})
    EXPECT_TRUE(std::isfinite(x->item()));
  l.total().backward();
  for (auto& [name, p] : m.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    const std::vector<float> v = flat(p.grad());
    EXPECT_TRUE(std::any_of(v.begin(), v.end(), [](float x) { return x != 0; })) << name;
  }
  // A diverged head (NaN weights): NaN losses for the non-finite guard to report, no exception
  // from proposals or NMS, and no detections.
  m.rpn->cls_logits->weight.fill_(std::nan(""));
  EXPECT_TRUE(std::isnan(m.losses(images, t, g).total().item()));
  m.eval();
  EXPECT_TRUE(m.detect(images, 0.0, 0.5).empty());
  m.train();
  // Bad input, each named.
  try {
    m.losses(Tensor::randn({1, 3, 30, 30}), {detect::ImageTargets{}}, g);
    ADD_FAILURE() << "a wrong input size was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 3, 32, 32]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(m.losses(images, {detect::ImageTargets{}}, g), Error);  // 2 images, 1 target
  c.grid = 3;
  EXPECT_THROW(detect::FasterRcnn{c}, Error);
  c.grid = 4;
  c.anchor_sizes = {-1};
  EXPECT_THROW(detect::FasterRcnn{c}, Error);
  const Tensor bad_boxes = Tensor::from_vector(std::vector<float>{5, 5, 2, 9}, Shape({1, 1, 4}));
  const Tensor one_label = Tensor::from_vector(std::vector<int64_t>{0}, Shape({1, 1}));
  try {
    detect::image_targets(bad_boxes, one_label);
    ADD_FAILURE() << "x2 < x1 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 0 object 0"), std::string::npos) << e.what();
  }
}

TEST(FasterRcnn, TrainsThroughTheTrainerAndRoundTripsAsADetectorFile) {
  if (!test::large_models_run_here()) GTEST_SKIP() << "dnnl in optimized builds only";
  test::TempDir dir;
  data::ShapesOptions so;
  so.count = 24;
  so.size = 32;
  so.objects_max = 2;
  so.classes = {"circle", "square"};
  data::write_shapes_dataset(dir.path(), so);
  auto ds = std::make_shared<data::DetectionDataset>(data::read_box_csv(dir.path("boxes.csv")), 32);
  detect::Detector det;
  det.arch = "frcnn";
  det.class_names = so.classes;
  det.frcnn.image_size = 32;
  det.frcnn.grid = 4;
  det.frcnn.num_classes = 2;
  det.backbone.width = 8;
  det.frcnn.backbone = det.backbone;
  det.frcnn.representation = 64;
  det.frcnn.anchor_sizes = {8, 12, 16};
  manual_seed(3);
  auto model = std::make_shared<detect::FasterRcnn>(det.frcnn);
  det.model = model;
  optim::Adam opt({{model->parameters(), /*lr=*/2e-3}});
  train::FasterRcnnTask task;
  data::DataLoader loader(
      ds, {.batch_size = 8, .shuffle = true, .seed = 1, .prefetch = 0, .workers = 1});
  data::DataLoader eval_loader(ds,
                               {.batch_size = 24, .shuffle = false, .prefetch = 0, .workers = 1});
  const double before = task.evaluate(*model, eval_loader).at("map50");
  train::Trainer trainer(*model, opt, task, loader, nullptr, {.epochs = 40});
  ASSERT_TRUE(trainer.run());
  const train::Logs after = task.evaluate(*model, eval_loader);
  EXPECT_LT(before, 0.2);
  EXPECT_GT(after.at("map50"), 0.5) << "loss " << after.at("loss");

  // The file gives the same detections.
  model->eval();
  const std::string path = dir.path("frcnn.safetensors");
  detect::save_detector(path, det);
  EXPECT_TRUE(detect::is_detector_file(path));
  const detect::Detector back = detect::load_detector(path);
  EXPECT_EQ(back.arch, "frcnn");
  EXPECT_EQ(back.frcnn.anchor_sizes, det.frcnn.anchor_sizes);
  eval_loader.start_epoch(0);
  const Tensor x = eval_loader.next()->inputs;
  const auto a = det.detect(x, 0.3, 0.5), b = back.detect(x, 0.3, 0.5);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_FLOAT_EQ(a[i].score, b[i].score);
    EXPECT_EQ(a[i].box, b[i].box);
  }
}

// Both detectors on a zoo trunk cut at a layer: ResNet-20's layer3 is 8 x 8 on 32 x 32 images.
TEST(FasterRcnn, ZooBackbonesCutAtALayerAndRoundTrip) {
  test::TempDir dir;
  manual_seed(4);
  detect::Detector det;
  det.arch = "frcnn";
  det.class_names = {"a", "b"};
  det.backbone = {"resnet20", "layer3", 16, ""};
  det.frcnn.image_size = 32;
  det.frcnn.grid = 8;
  det.frcnn.num_classes = 2;
  det.frcnn.representation = 32;
  det.frcnn.anchor_sizes = {8, 16};
  det.frcnn.backbone = det.backbone;
  auto m = std::make_shared<detect::FasterRcnn>(det.frcnn);
  det.model = m;
  Generator g(2);
  const Tensor images = Tensor::uniform({2, 3, 32, 32}, 0, 1, &g);
  EXPECT_EQ(m->forward(images).shape(), Shape({2, 64, 8, 8}));
  std::vector<detect::ImageTargets> t(2);
  t[1] = {{{3, 5, 20, 18}}, {0}};
  m->losses(images, t, g).total().backward();
  EXPECT_TRUE(m->backbone->named_parameters().front().second.grad().defined());
  m->eval();
  const std::string path = dir.path("zoo.safetensors");
  detect::save_detector(path, det);
  const detect::Detector back = detect::load_detector(path);
  EXPECT_EQ(back.backbone.name, "resnet20");
  EXPECT_EQ(back.backbone.layer, "layer3");
  const auto a = det.detect(images, 0.0, 0.5), b = back.detect(images, 0.0, 0.5);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i].score, b[i].score);

  detect::YoloConfig yc;
  yc.image_size = 32;
  yc.grid = 8;
  yc.num_classes = 2;
  auto yolo = detect::make_yolo(yc, {"resnet20", "layer3", 16, ""});
  yolo->eval();
  EXPECT_EQ((*yolo)(images).shape(), Shape({2, yc.channels(), 8, 8}));

  // A cut whose map is not the grid, a missing layer, an unknown model: each named.
  try {
    detect::make_backbone({"resnet20", "layer2", 16, ""}, 32, 8);
    ADD_FAILURE() << "a 16x16 map was accepted for grid 8";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("layer2 gives [32,16,16]"), std::string::npos) << w;
    EXPECT_NE(w.find("[C, 8, 8]"), std::string::npos) << w;
  }
  EXPECT_THROW(detect::make_backbone({"resnet20", "", 16, ""}, 32, 8), Error);
  EXPECT_THROW(detect::make_backbone({"no-such-net", "layer1", 16, ""}, 32, 8), Error);
}

}  // namespace
}  // namespace convkit
