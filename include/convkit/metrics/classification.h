#pragma once
// Classification metrics: top-k accuracy, running epoch averages, the confusion matrix and the
// per-class precision / recall / F1 derived from it.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::metrics {

// Rows of `logits` [N, C] whose label [N] (int64) is among the k largest scores. Ties are broken
// toward the lower class index, as a stable sort does. A row holding a NaN or infinite score is
// never correct (a diverged model scores 0%, not 100%).
int64_t topk_correct(const Tensor& logits, const Tensor& labels, int64_t k);
// Argmax per row of [N, C], as int64 [N].
Tensor argmax_rows(const Tensor& scores);

// Example-weighted averages over an epoch.
class RunningMetrics {
 public:
  void add(double mean_loss, const Tensor& logits, const Tensor& labels);
  int64_t count() const { return n_; }
  double loss() const { return n_ ? loss_sum_ / double(n_) : 0.0; }
  double top1() const { return n_ ? double(top1_) / double(n_) : 0.0; }
  double top5() const { return n_ ? double(top5_) / double(n_) : 0.0; }

 private:
  int64_t n_ = 0, top1_ = 0, top5_ = 0;
  double loss_sum_ = 0;
};

struct ClassReport {
  double precision = 0, recall = 0, f1 = 0;  // 0 where undefined (no predictions / no examples)
  int64_t support = 0;                       // examples whose true class this is
};

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes);
  void add(int64_t truth, int64_t predicted);
  // Adds the argmax prediction of each row of logits [N, C] against labels [N]; a row holding a
  // NaN or infinite score has no prediction and is counted by add_non_finite (wrong).
  void add(const Tensor& logits, const Tensor& labels);
  // An example of class `truth` whose scores were not finite: it counts in total(), support and
  // recall as a miss, and in no column of matrix().
  void add_non_finite(int64_t truth);
  int64_t non_finite() const;
  int64_t num_classes() const { return c_; }
  int64_t count(int64_t truth, int64_t predicted) const { return m_[truth * c_ + predicted]; }
  int64_t total() const;  // every example added, non-finite ones included
  double accuracy() const;
  std::vector<ClassReport> per_class() const;
  double macro_f1() const;
  // Rows: true class, columns: predicted; int64 [C, C].
  Tensor matrix() const;
  // The matrix and the per-class table as aligned text; names default to the class index.
  std::string to_string(const std::vector<std::string>& class_names = {}) const;

 private:
  int64_t c_;
  std::vector<int64_t> m_;
  std::vector<int64_t> non_finite_;  // per true class
};

}  // namespace convkit::metrics
