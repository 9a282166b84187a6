// metrics/detection.h: VOC and COCO AP on hand-computed cases, then on random detections against
// the independent Python reference tests/golden/detect_map_reference.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/metrics/detection.h"
#include "convkit/random.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

using metrics::Detection;
using metrics::GroundTruth;

// One class, two objects; the detections are: the first object, a miss, the second object.
TEST(DetectMap, HandComputedVocAndCoco) {
  const std::vector<GroundTruth> gts{{0, 0, {0, 0, 10, 10}}, {0, 0, {20, 20, 30, 30}}};
  const std::vector<Detection> dets{
      {0, 0, 0.9f, {0, 0, 10, 10}}, {0, 0, 0.8f, {50, 50, 60, 60}}, {0, 0, 0.7f, {20, 20, 30, 30}}};
  // Recall 0.5, 0.5, 1 at precision 1, 1/2, 2/3: the envelope is 1 up to recall 0.5, then 2/3.
  const metrics::DetectionReport voc = metrics::voc_map(dets, gts, 1);
  EXPECT_NEAR(voc.map, 0.5 * 1 + 0.5 * 2.0 / 3, 1e-12);
  ASSERT_EQ(voc.per_class[0].curve.size(), 3u);
  EXPECT_NEAR(voc.per_class[0].curve[1].precision, 0.5, 1e-12);
  // COCO: 51 recall points in [0, 0.5] read precision 1, the 50 above read 2/3; every IoU is 1.
  const metrics::DetectionReport coco = metrics::coco_map(dets, gts, 1);
  EXPECT_NEAR(coco.map, (51 + 50 * 2.0 / 3) / 101, 1e-12);
  EXPECT_NEAR(coco.map50, coco.map, 1e-12);
  // A second detection of the same object is a false positive; the miss ranked last costs
  // nothing in VOC: AP 1.
  const std::vector<Detection> dup{
      {0, 0, 0.9f, {0, 0, 10, 10}}, {0, 0, 0.8f, {20, 20, 30, 30}}, {0, 0, 0.7f, {0, 0, 10, 10}}};
  EXPECT_NEAR(metrics::voc_map(dup, gts, 1).map, 1.0, 1e-12);
  // A detection on a difficult box counts neither way; the difficult box is not a miss.
  const std::vector<GroundTruth> hard{{0, 0, {0, 0, 10, 10}}, {0, 0, {20, 20, 30, 30}, true}};
  EXPECT_NEAR(metrics::voc_map(dup, hard, 1).map, 1.0, 1e-12);
  EXPECT_EQ(metrics::voc_map(dup, hard, 1).per_class[0].num_ground_truth, 1);
  // IoU exactly 0.5 is not a VOC match (> 0.5) but is a COCO match at 0.5 (>= t).
  const std::vector<Detection> half{{0, 0, 0.9f, {0, 0, 10, 20}}};  // IoU with G1: 100 / 200
  EXPECT_EQ(metrics::voc_map(half, {gts[0]}, 1).map, 0.0);
  EXPECT_NEAR(metrics::coco_map(half, {gts[0]}, 1).map50, 1.0, 1e-12);
  EXPECT_NEAR(metrics::coco_map(half, {gts[0]}, 1).map, 0.1, 1e-12);  // only t = 0.5 of ten
  // A class without ground truth is not in the mean; its row says so.
  const metrics::DetectionReport two = metrics::voc_map(dets, gts, 2);
  EXPECT_NEAR(two.map, voc.map, 1e-12);
  EXPECT_NE(two.to_string({"square", "disc"}).find("n/a (no ground truth)"), std::string::npos);
  // Nothing detected: AP 0.
  EXPECT_EQ(metrics::voc_map({}, gts, 1).map, 0.0);
  EXPECT_EQ(metrics::coco_map({}, gts, 1).map, 0.0);
}

TEST(DetectMap, BadInputIsNamed) {
  const std::vector<GroundTruth> gts{{0, 0, {0, 0, 10, 10}}};
  EXPECT_THROW_WITH(metrics::voc_map({{0, 3, 0.5f, {0, 0, 1, 1}}}, gts, 2), "detection 0",
                    "label 3", "[0, 2)");
  EXPECT_THROW_WITH(metrics::coco_map({}, {{0, 0, {5, 0, 1, 1}}}, 1), "ground truth 0",
                    "[5, 0, 1, 1]");
  EXPECT_THROW_WITH(metrics::voc_map({{0, 0, NAN, {0, 0, 1, 1}}}, gts, 1), "score nan");
  EXPECT_THROW_WITH(metrics::coco_map({}, gts, 1, 0), "max_detections");
}

// Random scenes: jittered true detections (some duplicated), random false alarms, scores with ties,
// difficult boxes, a class with detections but no ground truth, images without objects.
TEST(DetectMap, MatchesTheIndependentReference) {
  std::string why;
  if (!test::python_has("numpy", &why)) GTEST_SKIP() << why;
  Generator g(20);
  std::vector<Detection> dets;
  std::vector<GroundTruth> gts;
  constexpr int64_t kClasses = 4;
  for (int64_t img = 0; img < 30; ++img) {
    const int objects = int(g.next_u64() % 5);  // 0..4; class 3 never has ground truth
    for (int o = 0; o < objects; ++o) {
      const float x = float(g.uniform(0, 80)), y = float(g.uniform(0, 80));
      const detect::Box box{x, y, x + float(g.uniform(5, 40)), y + float(g.uniform(5, 40))};
      const int64_t label = int64_t(g.next_u64() % 3);
      gts.push_back({img, label, box, g.uniform() < 0.1});
      for (int copy = 0; copy < (g.uniform() < 0.2 ? 2 : 1); ++copy) {
        if (g.uniform() < 0.15) continue;  // missed
        const float j = float(g.uniform(0, 0.3)) * box.width();
        const detect::Box d{box.x1 + j, box.y1 - j / 2, box.x2 + j, box.y2};
        const float score = float(std::round(g.uniform() * 20) / 20);  // ties
        dets.push_back({img,
                        g.uniform() < 0.1 ? (label + 1) % kClasses : label,
                        score,
                        {d.x1, std::max(d.y1, 0.0f), d.x2, d.y2}});
      }
    }
    for (int f = int(g.next_u64() % 3); f > 0; --f) {
      const float x = float(g.uniform(0, 90)), y = float(g.uniform(0, 90));
      dets.push_back({img,
                      int64_t(g.next_u64() % kClasses),
                      float(g.uniform()),
                      {x, y, x + float(g.uniform(2, 30)), y + float(g.uniform(2, 30))}});
    }
  }
  nlohmann::json in = {{"num_classes", kClasses}};
  in["detections"] = nlohmann::json::array();
  in["ground_truth"] = nlohmann::json::array();
  for (const Detection& d : dets)
    in["detections"].push_back({d.image, d.label, d.score, d.box.x1, d.box.y1, d.box.x2, d.box.y2});
  for (const GroundTruth& t : gts)
    in["ground_truth"].push_back(
        {t.image, t.label, t.box.x1, t.box.y1, t.box.x2, t.box.y2, t.difficult});
  const std::string base = test::onnx_work_dir() + "/detect_map_" + std::to_string(::getpid());
  std::ofstream(base + "_in.json") << in.dump();
  std::string out;
  ASSERT_EQ(test::run_python(std::string(CONVKIT_TESTS_DIR) + "/golden/detect_map_reference.py " +
                                 base + "_in.json " + base + "_out.json",
                             &out),
            0)
      << out;
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(base + "_out.json"));
  std::filesystem::remove(base + "_in.json");
  std::filesystem::remove(base + "_out.json");
  const metrics::DetectionReport voc = metrics::voc_map(dets, gts, kClasses);
  const metrics::DetectionReport coco = metrics::coco_map(dets, gts, kClasses);
  for (int64_t c = 0; c < kClasses; ++c) {
    EXPECT_EQ(ref["voc"][c].is_null(), voc.per_class[c].num_ground_truth == 0) << c;
    if (ref["voc"][c].is_null()) continue;
    EXPECT_NEAR(voc.per_class[c].ap, ref["voc"][c].get<double>(), 1e-12) << "VOC class " << c;
    EXPECT_NEAR(coco.per_class[c].ap, ref["coco"][c].get<double>(), 1e-12) << "COCO class " << c;
  }
  EXPECT_NEAR(voc.map, ref["voc_map"].get<double>(), 1e-12);
  EXPECT_NEAR(coco.map, ref["coco_map"].get<double>(), 1e-12);
  EXPECT_NEAR(coco.map50, ref["coco_map50"].get<double>(), 1e-12);
  EXPECT_NEAR(coco.map75, ref["coco_map75"].get<double>(), 1e-12);
  // A case that can fail: neither perfect nor hopeless, and the two definitions disagree.
  EXPECT_GT(voc.map, 0.3);
  EXPECT_LT(voc.map, 0.95);
  EXPECT_LT(coco.map, voc.map);
}

}  // namespace
}  // namespace convkit
