#pragma once
// Threshold curves and calibration for classifiers: ROC and precision-recall curves with their
// areas (binary, and one-vs-rest over a [N, C] score matrix), and reliability bins with the
// expected calibration error. The binary curves follow scikit-learn 1.2's definitions point for
// point (tests/test_curves.cpp checks them against it on random inputs with ties).
//
// Inputs: `scores` are any real numbers (higher = more positive); `labels` are 0 or 1.
// What throws (convkit::Error, naming the function and the offending index):
//   - scores and labels of different lengths, or empty;
//   - a label other than 0/1;
//   - a NaN or infinite score: refused rather than guessed, because any placement of a NaN in the
//     ranking changes the area (a diverged model must not get a plausible AUC). The CLI reports
//     such rows as wrong through ConfusionMatrix and skips the curves, saying why;
//   - ROC (curve and area) with only one class present: a rate over zero examples is undefined
//     (scikit-learn warns and returns NaN; roc_auc_score raises);
//   - precision-recall (curve and AP) without any positive (recall is undefined).
#include <cstdint>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::metrics {

// Points in order of decreasing threshold. Point 0 is (0, 0) with threshold +infinity (no example
// is predicted positive; scikit-learn >= 1.3 also uses +inf, 1.2 used max(score) + 1); point k >= 1
// predicts positive every example whose score >= thresholds[k], one point per distinct score
// (drop_intermediate=False).
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);
// Area under the ROC curve by the trapezoidal rule (equal to the probability that a random positive
// scores above a random negative, ties counting one half).
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// scikit-learn's precision_recall_curve: thresholds increasing (one per distinct score);
// precision[k], recall[k] hold for "score >= thresholds[k]"; a last point (precision 1, recall 0)
// has no threshold, so precision and recall are one longer than thresholds. Precision is 0 where
// nothing is predicted positive.
struct PrCurve {
  std::vector<double> precision, recall, thresholds;
};
PrCurve precision_recall_curve(const std::vector<double>& scores, const std::vector<int>& labels);
// scikit-learn's average_precision_score: AP = sum_k (R_k - R_{k-1}) * P_k over the thresholds
// (a step function, not the trapezoid, which is optimistic).
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

// One-vs-rest over scores [N, C] (f32 or f64, e.g. softmax probabilities) and int64 labels [N] in
// [0, C): class c's binary problem is (scores[:, c], labels == c). A class with no example, or
// with every example, has no ROC curve: its roc is empty and its auc NaN (and for no example its
// pr is empty and its ap NaN); it is left out of the macro means and listed in `undefined`.
// Throws as the binary functions do (non-finite scores name the row and column) and on a label
// out of range.
struct OneVsRest {
  std::vector<RocCurve> roc;           // [C]
  std::vector<double> auc;             // [C]
  std::vector<PrCurve> pr;             // [C]
  std::vector<double> ap;              // [C]
  double macro_auc = 0, macro_ap = 0;  // unweighted means over the defined classes (NaN if none)
  std::vector<int64_t> undefined;      // classes without a ROC curve
};
OneVsRest one_vs_rest(const Tensor& scores, const Tensor& labels);

// Reliability of the top-1 confidence (Guo et al., "On Calibration of Modern Neural Networks",
// 2017, section 2): examples fall in `num_bins` equal-width bins of confidence, bin m holding
// (m/M, (m+1)/M] (bin 0 also holds 0), as scikit-learn's calibration_curve(strategy="uniform")
// bins them. ECE = sum_m |B_m| / N * |accuracy(B_m) - confidence(B_m)|.
struct ReliabilityBin {
  double lower = 0, upper = 0;          // confidence range of the bin
  int64_t count = 0;                    // examples in the bin
  double confidence = 0, accuracy = 0;  // means over the bin (0 when empty)
};
struct Reliability {
  std::vector<ReliabilityBin> bins;  // [num_bins]
  double ece = 0;
  int64_t total = 0;
};
// From per-example confidences in [0, 1] and correct flags (0/1). Throws on a confidence outside
// [0, 1] or not finite, on lengths that differ or are zero, on num_bins < 1.
Reliability reliability(const std::vector<double>& confidence, const std::vector<int>& correct,
                        int num_bins = 15);
// From probabilities [N, C] and int64 labels [N]: confidence = max_c p, correct = argmax == label.
Reliability reliability(const Tensor& probabilities, const Tensor& labels, int num_bins = 15);

}  // namespace convkit::metrics
