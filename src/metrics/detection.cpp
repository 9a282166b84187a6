// VOC and COCO average precision (definitions in include/convkit/metrics/detection.h; the
// independent reference is tests/golden/detect_map_reference.py).
#include "convkit/metrics/detection.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "convkit/error.h"

namespace convkit::metrics {

namespace {

double iou64(const detect::Box& a, const detect::Box& b) {
  const double w = std::max(0.0, double(std::min(a.x2, b.x2)) - std::max(a.x1, b.x1));
  const double h = std::max(0.0, double(std::min(a.y2, b.y2)) - std::max(a.y1, b.y1));
  const double inter = w * h;
  const double area_a = (double(a.x2) - a.x1) * (double(a.y2) - a.y1);
  const double area_b = (double(b.x2) - b.x1) * (double(b.y2) - b.y1);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

void check_box(const detect::Box& b, const char* what, std::size_t i, const char* op) {
  CONVKIT_CHECK(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
                    std::isfinite(b.y2) && b.x1 <= b.x2 && b.y1 <= b.y2,
                op, ": ", what, " ", i, " has box [", b.x1, ", ", b.y1, ", ", b.x2, ", ", b.y2,
                "]; boxes must be finite xyxy with x1 <= x2 and y1 <= y2");
}

void check_inputs(const std::vector<Detection>& dets, const std::vector<GroundTruth>& gts,
                  int64_t num_classes, const char* op) {
  CONVKIT_CHECK(num_classes >= 1, op, ": num_classes must be >= 1, got ", num_classes);
  for (std::size_t i = 0; i < dets.size(); ++i) {
    CONVKIT_CHECK(dets[i].label >= 0 && dets[i].label < num_classes, op, ": detection ", i,
                  " has label ", dets[i].label, ", outside [0, ", num_classes, ")");
    CONVKIT_CHECK(std::isfinite(dets[i].score), op, ": detection ", i, " has score ", dets[i].score,
                  "; scores must be finite");
    check_box(dets[i].box, "detection", i, op);
  }
  for (std::size_t i = 0; i < gts.size(); ++i) {
    CONVKIT_CHECK(gts[i].label >= 0 && gts[i].label < num_classes, op, ": ground truth ", i,
                  " has label ", gts[i].label, ", outside [0, ", num_classes, ")");
    check_box(gts[i].box, "ground truth", i, op);
  }
}

// Indices of `dets` of class c by decreasing score, ties in input order.
std::vector<std::size_t> class_order(const std::vector<Detection>& dets, int64_t c) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < dets.size(); ++i)
    if (dets[i].label == c) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return dets[a].score > dets[b].score; });
  return idx;
}

// VOC all-point interpolated AP from the cumulative recall/precision after each detection.
double all_point_ap(const std::vector<PrPoint>& curve) {
  std::vector<double> rec{0.0}, prec{0.0};
  for (const PrPoint& p : curve) rec.push_back(p.recall), prec.push_back(p.precision);
  rec.push_back(1.0);
  prec.push_back(0.0);
  for (std::size_t i = prec.size() - 1; i > 0; --i) prec[i - 1] = std::max(prec[i - 1], prec[i]);
  double ap = 0;
  for (std::size_t i = 0; i + 1 < rec.size(); ++i)
    if (rec[i + 1] != rec[i]) ap += (rec[i + 1] - rec[i]) * prec[i + 1];
  return ap;
}

double mean_over_classes_with_gt(const std::vector<ClassAP>& per_class,
                                 const std::vector<double>& value) {
  double sum = 0;
  int64_t n = 0;
  for (std::size_t c = 0; c < per_class.size(); ++c)
    if (per_class[c].num_ground_truth > 0) sum += value[c], ++n;
  return n ? sum / double(n) : 0.0;
}

}  // namespace

DetectionReport voc_map(const std::vector<Detection>& dets, const std::vector<GroundTruth>& gts,
                        int64_t num_classes, double iou_threshold) {
  check_inputs(dets, gts, num_classes, "voc_map");
  DetectionReport r;
  std::vector<double> aps(num_classes, 0.0);
  for (int64_t c = 0; c < num_classes; ++c) {
    ClassAP cls;
    cls.label = c;
    std::map<int64_t, std::vector<std::size_t>> by_image;  // image -> indices into gts
    for (std::size_t g = 0; g < gts.size(); ++g)
      if (gts[g].label == c) {
        by_image[gts[g].image].push_back(g);
        cls.num_ground_truth += !gts[g].difficult;
      }
    std::vector<char> matched(gts.size(), 0);
    const std::vector<std::size_t> order = class_order(dets, c);
    cls.num_detections = int64_t(order.size());
    double tp = 0, fp = 0;
    for (std::size_t d : order) {
      double best = -std::numeric_limits<double>::infinity();
      std::size_t best_g = 0;
      auto it = by_image.find(dets[d].image);
      if (it != by_image.end())
        for (std::size_t g : it->second) {
          const double o = iou64(dets[d].box, gts[g].box);
          if (o > best) best = o, best_g = g;
        }
      if (best > iou_threshold) {
        if (!gts[best_g].difficult) {
          if (!matched[best_g]) {
            tp += 1;
            matched[best_g] = 1;
          } else {
            fp += 1;  // a duplicate detection of an already found object
          }
        }
      } else {
        fp += 1;
      }
      if (cls.num_ground_truth > 0)
        cls.curve.push_back({tp / double(cls.num_ground_truth),
                             tp / std::max(tp + fp, std::numeric_limits<double>::epsilon())});
    }
    if (cls.num_ground_truth > 0) cls.ap = aps[c] = all_point_ap(cls.curve);
    r.per_class.push_back(std::move(cls));
  }
  r.map = mean_over_classes_with_gt(r.per_class, aps);
  return r;
}

DetectionReport coco_map(const std::vector<Detection>& dets, const std::vector<GroundTruth>& gts,
                         int64_t num_classes, int64_t max_detections) {
  check_inputs(dets, gts, num_classes, "coco_map");
  CONVKIT_CHECK(max_detections >= 1, "coco_map: max_detections must be >= 1, got ", max_detections);
  constexpr int kThresholds = 10, kRecalls = 101;
  DetectionReport r;
  std::vector<std::vector<double>> ap(num_classes, std::vector<double>(kThresholds, 0.0));
  for (int64_t c = 0; c < num_classes; ++c) {
    ClassAP cls;
    cls.label = c;
    // Per image (by increasing id, as COCOeval walks imgIds): its ground truth with the ignored
    // (difficult) boxes last, and its top max_detections detections by score.
    std::map<int64_t, std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> images;
    for (std::size_t g = 0; g < gts.size(); ++g)
      if (gts[g].label == c) {
        images[gts[g].image].first.push_back(g);
        cls.num_ground_truth += !gts[g].difficult;
      }
    for (std::size_t d : class_order(dets, c)) images[dets[d].image].second.push_back(d);
    for (auto& [image, gd] : images) {
      std::stable_partition(gd.first.begin(), gd.first.end(),
                            [&](std::size_t g) { return !gts[g].difficult; });
      if (int64_t(gd.second.size()) > max_detections) gd.second.resize(max_detections);
      cls.num_detections += int64_t(gd.second.size());
    }
    r.per_class.push_back(cls);
    if (cls.num_ground_truth == 0) continue;
    for (int t = 0; t < kThresholds; ++t) {
      const double thr = 0.5 + 0.05 * t;
      // (score, is_tp, is_ignored) of every kept detection, images in id order.
      struct Scored {
        float score;
        bool tp, ignored;
      };
      std::vector<Scored> all;
      for (const auto& [image, gd] : images) {
        const auto& [g_idx, d_idx] = gd;
        std::vector<char> g_matched(g_idx.size(), 0);
        for (std::size_t d : d_idx) {
          double best = std::min(thr, 1 - 1e-10);
          int m = -1;
          for (std::size_t k = 0; k < g_idx.size(); ++k) {
            if (g_matched[k]) continue;
            // Once matched to a regular box, never trade it for an ignored one.
            if (m > -1 && !gts[g_idx[m]].difficult && gts[g_idx[k]].difficult) break;
            const double o = iou64(dets[d].box, gts[g_idx[k]].box);
            if (o < best) continue;
            best = o;
            m = int(k);
          }
          if (m >= 0) g_matched[m] = 1;
          all.push_back({dets[d].score, m >= 0, m >= 0 && gts[g_idx[m]].difficult});
        }
      }
      std::stable_sort(all.begin(), all.end(),
                       [](const Scored& a, const Scored& b) { return a.score > b.score; });
      std::vector<double> rc, pr;
      double tp = 0, fp = 0;
      for (const Scored& s : all) {
        // An ignored detection adds a point with unchanged counts, as COCOeval's cumsum does.
        if (!s.ignored) (s.tp ? tp : fp) += 1;
        rc.push_back(tp / double(cls.num_ground_truth));
        pr.push_back(tp / (tp + fp + std::numeric_limits<double>::epsilon()));
      }
      for (std::size_t i = pr.size(); i > 1; --i) pr[i - 2] = std::max(pr[i - 2], pr[i - 1]);
      double sum = 0;
      for (int k = 0; k < kRecalls; ++k) {
        const double want = k * 0.01;  // np.linspace(0, 1, 101), bit for bit
        const auto it = std::lower_bound(rc.begin(), rc.end(), want);
        if (it == rc.end()) break;  // higher recalls are never reached: precision 0
        sum += pr[it - rc.begin()];
      }
      ap[c][t] = sum / kRecalls;
    }
  }
  std::vector<double> mean_ap(num_classes), ap50(num_classes), ap75(num_classes);
  for (int64_t c = 0; c < num_classes; ++c) {
    mean_ap[c] = std::accumulate(ap[c].begin(), ap[c].end(), 0.0) / kThresholds;
    ap50[c] = ap[c][0];
    ap75[c] = ap[c][5];
    r.per_class[c].ap = mean_ap[c];
  }
  r.map = mean_over_classes_with_gt(r.per_class, mean_ap);
  r.map50 = mean_over_classes_with_gt(r.per_class, ap50);
  r.map75 = mean_over_classes_with_gt(r.per_class, ap75);
  return r;
}

std::string DetectionReport::to_string(const std::vector<std::string>& class_names) const {
  std::ostringstream os;
  os << std::fixed << std::setprecision(4);
  os << "class  name            #gt    #det  AP\n";
  for (const ClassAP& c : per_class) {
    const std::string name = std::size_t(c.label) < class_names.size() ? class_names[c.label] : "-";
    os << std::left << std::setw(7) << c.label << std::setw(16) << name << std::right
       << std::setw(5) << c.num_ground_truth << std::setw(8) << c.num_detections << "  ";
    if (c.num_ground_truth > 0)
      os << c.ap << "\n";
    else
      os << "n/a (no ground truth)\n";
  }
  os << "mAP " << map << "\n";
  return os.str();
}

}  // namespace convkit::metrics
