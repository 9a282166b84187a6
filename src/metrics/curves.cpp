#include "convkit/metrics/curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "convkit/error.h"

namespace convkit::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_binary(const std::vector<double>& scores, const std::vector<int>& labels,
                  const char* fn) {
  CONVKIT_CHECK(!scores.empty() && scores.size() == labels.size(), fn, ": expected as many labels ",
                "as scores (and at least one), got ", scores.size(), " scores and ", labels.size(),
                " labels");
  for (size_t i = 0; i < scores.size(); ++i) {
    CONVKIT_CHECK(labels[i] == 0 || labels[i] == 1, fn, ": label ", labels[i], " at index ", i,
                  " is not 0 or 1");
    CONVKIT_CHECK(std::isfinite(scores[i]), fn, ": score ", scores[i], " at index ", i,
                  " is not finite; a NaN has no place in a ranking (check the model's outputs)");
  }
}

// scikit-learn's _binary_clf_curve: for each distinct score, from the highest down, the number of
// false and true positives when every example scoring >= it is called positive.
struct Counts {
  std::vector<double> fps, tps, thresholds;
};
Counts binary_counts(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  Counts c;
  double tp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    tp += labels[order[k]];
    // Emit a point at the last example of each run of equal scores.
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]]) {
      c.tps.push_back(tp);
      c.fps.push_back(double(k + 1) - tp);
      c.thresholds.push_back(scores[order[k]]);
    }
  }
  return c;
}

}  // namespace

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  check_binary(scores, labels, "roc_curve");
  const Counts c = binary_counts(scores, labels);
  const double p = c.tps.back(), n = c.fps.back();
  CONVKIT_CHECK(p > 0 && n > 0, "roc_curve: needs both classes, got ", p, " positives and ", n,
                " negatives among ", scores.size(),
                " examples (a rate over zero examples is "
                "undefined)");
  RocCurve r;
  r.fpr.push_back(0);
  r.tpr.push_back(0);
  r.thresholds.push_back(std::numeric_limits<double>::infinity());
  for (size_t k = 0; k < c.tps.size(); ++k) {
    r.fpr.push_back(c.fps[k] / n);
    r.tpr.push_back(c.tps[k] / p);
    r.thresholds.push_back(c.thresholds[k]);
  }
  return r;
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const RocCurve r = roc_curve(scores, labels);
  double area = 0;
  for (size_t k = 1; k < r.fpr.size(); ++k)
    area += (r.fpr[k] - r.fpr[k - 1]) * (r.tpr[k] + r.tpr[k - 1]) / 2;
  return area;
}

PrCurve precision_recall_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  check_binary(scores, labels, "precision_recall_curve");
  const Counts c = binary_counts(scores, labels);
  const double p = c.tps.back();
  CONVKIT_CHECK(p > 0, "precision_recall_curve: no positive among ", scores.size(),
                " examples (recall is undefined)");
  PrCurve r;
  // Reversed so that thresholds increase and recall decreases, as scikit-learn returns them.
  for (size_t k = c.tps.size(); k-- > 0;) {
    const double predicted = c.tps[k] + c.fps[k];
    r.precision.push_back(predicted > 0 ? c.tps[k] / predicted : 0.0);
    r.recall.push_back(c.tps[k] / p);
    r.thresholds.push_back(c.thresholds[k]);
  }
  r.precision.push_back(1);
  r.recall.push_back(0);
  return r;
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
  const PrCurve r = precision_recall_curve(scores, labels);
  double ap = 0;
  for (size_t k = 0; k + 1 < r.recall.size(); ++k)
    ap += (r.recall[k] - r.recall[k + 1]) * r.precision[k];
  return ap;
}

OneVsRest one_vs_rest(const Tensor& scores, const Tensor& labels) {
  CONVKIT_CHECK(scores.defined() && scores.ndim() == 2, "one_vs_rest: expected scores [N, C], got ",
                scores.defined() ? scores.shape().to_string() : "undefined");
  CONVKIT_CHECK(labels.defined() && labels.dtype() == DType::i64 && labels.ndim() == 1 &&
                    labels.size(0) == scores.size(0),
                "one_vs_rest: expected int64 labels [", scores.size(0), "], got ",
                labels.defined() ? labels.shape().to_string() : "undefined");
  const int64_t n = scores.size(0), classes = scores.size(1);
  const Tensor d = scores.dtype() == DType::f64 ? scores : scores.to(DType::f64);
  const double* s = d.data<double>();
  const int64_t* l = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    CONVKIT_CHECK(l[i] >= 0 && l[i] < classes, "one_vs_rest: label ", l[i], " at row ", i,
                  " is out of range for ", classes, " classes");
    for (int64_t c = 0; c < classes; ++c)
      CONVKIT_CHECK(std::isfinite(s[i * classes + c]), "one_vs_rest: score ", s[i * classes + c],
                    " at row ", i, ", class ", c, " is not finite (check the model's outputs)");
  }
  OneVsRest r;
  double auc_sum = 0, ap_sum = 0;
  int64_t auc_n = 0, ap_n = 0;
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<double> column(n);
    std::vector<int> positive(n);
    int64_t positives = 0;
    for (int64_t i = 0; i < n; ++i) {
      column[i] = s[i * classes + c];
      positive[i] = l[i] == c;
      positives += positive[i];
    }
    const bool has_roc = positives > 0 && positives < n;
    r.roc.push_back(has_roc ? roc_curve(column, positive) : RocCurve{});
    r.auc.push_back(has_roc ? roc_auc(column, positive) : kNaN);
    r.pr.push_back(positives > 0 ? precision_recall_curve(column, positive) : PrCurve{});
    r.ap.push_back(positives > 0 ? average_precision(column, positive) : kNaN);
    if (!has_roc) r.undefined.push_back(c);
    if (has_roc) auc_sum += r.auc.back(), ++auc_n;
    if (positives > 0) ap_sum += r.ap.back(), ++ap_n;
  }
  r.macro_auc = auc_n ? auc_sum / double(auc_n) : kNaN;
  r.macro_ap = ap_n ? ap_sum / double(ap_n) : kNaN;
  return r;
}

Reliability reliability(const std::vector<double>& confidence, const std::vector<int>& correct,
                        int num_bins) {
  CONVKIT_CHECK(num_bins >= 1, "reliability: num_bins must be >= 1, got ", num_bins);
  CONVKIT_CHECK(!confidence.empty() && confidence.size() == correct.size(),
                "reliability: expected as many correct flags as confidences (and at least one), "
                "got ",
                confidence.size(), " and ", correct.size());
  Reliability r;
  r.bins.resize(num_bins);
  for (int m = 0; m < num_bins; ++m) {
    r.bins[m].lower = double(m) / num_bins;
    r.bins[m].upper = double(m + 1) / num_bins;
  }
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double p = confidence[i];
    CONVKIT_CHECK(std::isfinite(p) && p >= 0 && p <= 1, "reliability: confidence ", p, " at index ",
                  i, " is not in [0, 1] (pass probabilities, not logits)");
    CONVKIT_CHECK(correct[i] == 0 || correct[i] == 1, "reliability: correct flag ", correct[i],
                  " at index ", i, " is not 0 or 1");
    // Bins are (m/M, (m+1)/M] and 0 joins the first: m = ceil(p * M) - 1, then corrected against
    // the edges m/M themselves, as p * M rounds (0.3 * 10 = 3.0000000000000004).
    int m = std::clamp(int(std::ceil(p * num_bins)) - 1, 0, num_bins - 1);
    while (m > 0 && p <= double(m) / num_bins) --m;
    while (m < num_bins - 1 && p > double(m + 1) / num_bins) ++m;
    ReliabilityBin& b = r.bins[m];
    ++b.count;
    b.confidence += p;
    b.accuracy += correct[i];
  }
  r.total = int64_t(confidence.size());
  for (ReliabilityBin& b : r.bins) {
    if (b.count == 0) continue;
    b.confidence /= double(b.count);
    b.accuracy /= double(b.count);
    r.ece += double(b.count) / double(r.total) * std::abs(b.accuracy - b.confidence);
  }
  return r;
}

Reliability reliability(const Tensor& probabilities, const Tensor& labels, int num_bins) {
  CONVKIT_CHECK(probabilities.defined() && probabilities.ndim() == 2,
                "reliability: expected probabilities [N, C], got ",
                probabilities.defined() ? probabilities.shape().to_string() : "undefined");
  CONVKIT_CHECK(labels.defined() && labels.dtype() == DType::i64 && labels.ndim() == 1 &&
                    labels.size(0) == probabilities.size(0),
                "reliability: expected int64 labels [", probabilities.size(0), "], got ",
                labels.defined() ? labels.shape().to_string() : "undefined");
  const int64_t n = probabilities.size(0), classes = probabilities.size(1);
  const Tensor d =
      probabilities.dtype() == DType::f64 ? probabilities : probabilities.to(DType::f64);
  const double* p = d.data<double>();
  const int64_t* l = labels.data<int64_t>();
  std::vector<double> confidence(n);
  std::vector<int> correct(n);
  for (int64_t i = 0; i < n; ++i) {
    const double* row = p + i * classes;
    CONVKIT_CHECK(l[i] >= 0 && l[i] < classes, "reliability: label ", l[i], " at row ", i,
                  " is out of range for ", classes, " classes");
    for (int64_t c = 0; c < classes; ++c)
      CONVKIT_CHECK(std::isfinite(row[c]), "reliability: probability ", row[c], " at row ", i,
                    ", class ", c, " is not finite (check the model's outputs)");
    const int64_t best = std::max_element(row, row + classes) - row;
    confidence[i] = row[best];
    correct[i] = best == l[i];
  }
  return reliability(confidence, correct, num_bins);
}

}  // namespace convkit::metrics
