// detect/boxes.h and detect/box_coder.h against torchvision.ops on the same float32 boxes:
// tests/golden/detect_boxes_oracle.py computes box_iou, generalized_box_iou, nms, batched_nms,
// box_convert and BoxCoder at test time. The sets hold what breaks NMS implementations: integer
// grids (IoU exactly at the threshold), repeated scores (tie order), duplicated boxes, an empty
// set and zero-area boxes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/backend.h"
#include "convkit/detect/box_coder.h"
#include "convkit/detect/boxes.h"
#include "convkit/random.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

using nlohmann::json;

struct Case {
  std::string name;
  std::vector<float> boxes, boxes2, scores;
  std::vector<int64_t> classes;
  double iou_threshold = 0.5;
};

// n boxes with corners on an integer grid [0, grid] (zero-area ones when allowed), scores from
// `levels` distinct values (so many ties), classes in [0, num_classes).
Case grid_case(const std::string& name, int n, int grid, int levels, int num_classes,
               double threshold, bool allow_zero_area, uint64_t seed) {
  Generator g(seed);
  Case c{name, {}, {}, {}, {}, threshold};
  auto corner = [&](std::vector<float>& out) {
    const int lo = allow_zero_area ? 0 : 1;
    const float x = float(g.next_u64() % grid), y = float(g.next_u64() % grid);
    const float w = float(lo + g.next_u64() % (grid / 2)),
                h = float(lo + g.next_u64() % (grid / 2));
    out.insert(out.end(), {x, y, x + w, y + h});
  };
  for (int i = 0; i < n; ++i) {
    corner(c.boxes);
    corner(c.boxes2);
    c.scores.push_back(float(1 + g.next_u64() % levels) / float(levels));
    c.classes.push_back(int64_t(g.next_u64() % num_classes));
  }
  return c;
}

// n boxes with uniform float corners in [0, 100): ties are rare, rounding is what is exercised.
Case float_case(const std::string& name, int n, double threshold, uint64_t seed) {
  Generator g(seed);
  Case c{name, {}, {}, {}, {}, threshold};
  auto box = [&](std::vector<float>& out) {
    const float x = float(g.uniform(0, 80)), y = float(g.uniform(0, 80));
    out.insert(out.end(), {x, y, x + float(g.uniform(0.5, 30)), y + float(g.uniform(0.5, 30))});
  };
  for (int i = 0; i < n; ++i) {
    box(c.boxes);
    box(c.boxes2);
    c.scores.push_back(float(g.uniform()));
    c.classes.push_back(int64_t(g.next_u64() % 4));
  }
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> v{
      grid_case("grid_ties", 80, 12, 4, 3, 0.5, false, 1),
      grid_case("grid_zero_area", 60, 8, 3, 2, 0.3, true, 2),
      grid_case("grid_threshold_0", 30, 10, 5, 2, 0.0, false, 3),
      grid_case("grid_threshold_1", 30, 4, 2, 2, 1.0, false, 4),
      float_case("float_dense", 300, 0.5, 5),
      float_case("float_low_threshold", 150, 0.1, 6),
      Case{"empty", {}, {}, {}, {}, 0.5},
  };
  // The same box three times with equal scores, and a line and a point repeated.
  v.push_back(
      Case{"duplicates",
           {0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 1, 1, 1, 5, 1, 1, 1, 5, 2, 2, 2, 2, 2, 2, 2, 2},
           {0, 0, 4, 4, 1, 1, 1, 5, 2, 2, 2, 2},
           {0.5f, 0.5f, 0.5f, 0.9f, 0.9f, 0.1f, 0.1f},
           {0, 1, 0, 0, 0, 1, 1},
           0.5});
  return v;
}

Tensor tensor4(const std::vector<float>& v) {
  return Tensor::from_vector(v, Shape({int64_t(v.size() / 4), 4}));
}

std::vector<int64_t> as_vector(const Tensor& idx) {
  return std::vector<int64_t>(idx.data<int64_t>(), idx.data<int64_t>() + idx.numel());
}

// Pairwise values. torchvision's null is its NaN for a zero union (two zero-area boxes): there our
// IoU is 0 and our GIoU 0 - (area(C) - 0) / area(C), so -1, or 0 when C has no area either.
void expect_matrix(const Tensor& ours, const json& theirs, const std::string& what,
                   bool null_may_be_minus_one) {
  ASSERT_EQ(int64_t(theirs.size()), ours.size(0)) << what;
  for (int64_t i = 0; i < ours.size(0); ++i)
    for (int64_t j = 0; j < ours.size(1); ++j) {
      const json& t = theirs[i][j];
      const float v = ours.data<float>()[i * ours.size(1) + j];
      if (t.is_null())
        ASSERT_TRUE(v == 0.0f || (null_may_be_minus_one && v == -1.0f))
            << what << " [" << i << ", " << j << "] = " << v << " where torchvision has NaN";
      else
        ASSERT_NEAR(v, t.get<double>(), 1e-6) << what << " [" << i << ", " << j << "]";
    }
}

void expect_rows(const Tensor& ours, const json& theirs, double tol, const std::string& what) {
  ASSERT_EQ(int64_t(theirs.size()), ours.size(0)) << what;
  for (int64_t i = 0; i < ours.size(0); ++i)
    for (int k = 0; k < 4; ++k) {
      const double e = theirs[i][k].get<double>();
      ASSERT_NEAR(ours.data<float>()[4 * i + k], e, tol * std::max(1.0, std::abs(e)))
          << what << " row " << i;
    }
}

TEST(DetectBoxesGolden, MatchesTorchvisionOps) {
  // Box math never dispatches to a kernel: one pass (dnnl) pays torchvision's start-up.
  if (backend() == Backend::ref) GTEST_SKIP() << "backend-independent; runs in the dnnl pass";
#ifdef CONVKIT_SANITIZE_BUILD
  GTEST_SKIP() << "~6 s of torch start-up; test_detect_boxes.cpp covers this code under the "
                  "sanitizers";
#endif
  const std::vector<Case> cs = cases();
  json in = json::array();
  for (const Case& c : cs)
    in.push_back({{"boxes", c.boxes},
                  {"boxes2", c.boxes2},
                  {"scores", c.scores},
                  {"classes", c.classes},
                  {"iou_threshold", c.iou_threshold}});
  const std::string dir = test::onnx_work_dir();
  const std::string tag = std::to_string(::getpid());
  const std::string in_path = dir + "/detect_boxes_in_" + tag + ".json";
  const std::string out_path = dir + "/detect_boxes_out_" + tag + ".json";
  std::ofstream(in_path) << in.dump();
  std::string out;
  const int rc = test::run_python(
      std::string(CONVKIT_TESTS_DIR) + "/golden/detect_boxes_oracle.py " + in_path + " " + out_path,
      &out);
  std::filesystem::remove(in_path);
  // No separate python_has() probe: importing torch twice would double the test's time.
  if (rc != 0 && out.find("ModuleNotFoundError") != std::string::npos) GTEST_SKIP() << out;
  ASSERT_EQ(rc, 0) << out;
  const json theirs = json::parse(std::ifstream(out_path));
  std::filesystem::remove(out_path);
  ASSERT_EQ(theirs.size(), cs.size());
  int64_t kept_total = 0, suppressed_total = 0;
  for (std::size_t k = 0; k < cs.size(); ++k) {
    const Case& c = cs[k];
    const json& t = theirs[k];
    SCOPED_TRACE(c.name);
    const Tensor b = tensor4(c.boxes), b2 = tensor4(c.boxes2);
    const Tensor s = Tensor::from_vector(c.scores, Shape({int64_t(c.scores.size())}));
    const Tensor cls = Tensor::from_vector(c.classes, Shape({int64_t(c.classes.size())}));
    const std::vector<int64_t> kept = as_vector(detect::nms(b, s, c.iou_threshold));
    EXPECT_EQ(kept, t["nms"].get<std::vector<int64_t>>());
    EXPECT_EQ(as_vector(detect::batched_nms(b, s, cls, c.iou_threshold)),
              t["batched_nms"].get<std::vector<int64_t>>());
    kept_total += int64_t(kept.size());
    suppressed_total += int64_t(c.scores.size() - kept.size());
    expect_matrix(detect::box_iou(b, b2), t["iou"], "box_iou", false);
    expect_matrix(detect::generalized_box_iou(b, b2), t["giou"], "generalized_box_iou", true);
    const Tensor area = detect::box_area(b);
    for (int64_t i = 0; i < area.numel(); ++i)
      EXPECT_EQ(area.data<float>()[i], t["area"][i].get<float>());
    expect_rows(detect::box_convert(b, detect::BoxFormat::xyxy, detect::BoxFormat::xywh), t["xywh"],
                0, "xywh");
    expect_rows(detect::box_convert(b, detect::BoxFormat::xyxy, detect::BoxFormat::cxcywh),
                t["cxcywh"], 0, "cxcywh");
    if (t.contains("encode")) {
      const detect::BoxCoder coder({10, 10, 5, 5});
      const Tensor deltas = coder.encode(b2, b);
      expect_rows(deltas, t["encode"], 1e-5, "encode");
      expect_rows(coder.decode(deltas, b), t["decode"], 1e-5, "decode");
    }
  }
  // The sets really exercise suppression (a test where nothing overlaps proves nothing).
  EXPECT_GT(suppressed_total, 100);
  EXPECT_GT(kept_total, 100);
}

}  // namespace
}  // namespace convkit
