#include "convkit/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace convkit::metrics {

namespace {
void check_scores(const Tensor& logits, const Tensor& labels, const char* op) {
  CONVKIT_CHECK(logits.defined() && logits.ndim() == 2, op, ": expected scores [N, C], got ",
                logits.defined() ? logits.shape().to_string() : "undefined");
  CONVKIT_CHECK(labels.defined() && labels.dtype() == DType::i64 && labels.ndim() == 1 &&
                    labels.size(0) == logits.size(0),
                op, ": expected int64 labels [", logits.size(0), "], got ",
                labels.defined() ? labels.shape().to_string() : "undefined");
}

bool finite_row(const double* row, int64_t c) {
  for (int64_t j = 0; j < c; ++j)
    if (!std::isfinite(row[j])) return false;
  return true;
}

// Reads row i of a float tensor as double.
template <class F>
void for_rows(const Tensor& t, F&& f) {
  Tensor d = t.dtype() == DType::f64 ? t : t.to(DType::f64);
  const double* p = d.data<double>();
  for (int64_t i = 0; i < t.size(0); ++i) f(i, p + i * t.size(1));
}
}  // namespace

int64_t topk_correct(const Tensor& logits, const Tensor& labels, int64_t k) {
  check_scores(logits, labels, "topk_correct");
  const int64_t c = logits.size(1);
  const int64_t* l = labels.data<int64_t>();
  int64_t correct = 0;
  for_rows(logits, [&](int64_t i, const double* row) {
    CONVKIT_CHECK(l[i] >= 0 && l[i] < c, "topk_correct: label ", l[i], " at row ", i,
                  " is out of range for ", c, " classes");
    // A NaN compares false with everything, so it would never "beat" the label: without this a
    // diverged model scores 100%.
    if (!finite_row(row, c)) return;
    // The label is in the top k when fewer than k classes beat it (ties: lower index wins).
    int64_t better = 0;
    for (int64_t j = 0; j < c; ++j)
      better += row[j] > row[l[i]] || (row[j] == row[l[i]] && j < l[i]);
    correct += better < k;
  });
  return correct;
}

Tensor argmax_rows(const Tensor& scores) {
  CONVKIT_CHECK(scores.defined() && scores.ndim() == 2, "argmax_rows: expected [N, C], got ",
                scores.defined() ? scores.shape().to_string() : "undefined");
  Tensor out = Tensor::empty({scores.size(0)}, DType::i64);
  for_rows(scores, [&](int64_t i, const double* row) {
    out.data<int64_t>()[i] = std::max_element(row, row + scores.size(1)) - row;
  });
  return out;
}

void RunningMetrics::add(double mean_loss, const Tensor& logits, const Tensor& labels) {
  const int64_t n = logits.size(0);
  loss_sum_ += mean_loss * double(n);
  top1_ += topk_correct(logits, labels, 1);
  top5_ += topk_correct(logits, labels, 5);
  n_ += n;
}

ConfusionMatrix::ConfusionMatrix(int64_t num_classes) : c_(num_classes) {
  CONVKIT_CHECK(num_classes > 0, "ConfusionMatrix: need at least one class, got ", num_classes);
  m_.assign(c_ * c_, 0);
  non_finite_.assign(c_, 0);
}

void ConfusionMatrix::add(int64_t truth, int64_t predicted) {
  CONVKIT_CHECK(truth >= 0 && truth < c_ && predicted >= 0 && predicted < c_,
                "ConfusionMatrix: class out of range (true ", truth, ", predicted ", predicted,
                ", ", c_, " classes)");
  ++m_[truth * c_ + predicted];
}

void ConfusionMatrix::add(const Tensor& logits, const Tensor& labels) {
  check_scores(logits, labels, "ConfusionMatrix::add");
  CONVKIT_CHECK(logits.size(1) == c_, "ConfusionMatrix::add: scores have ", logits.size(1),
                " classes, the matrix ", c_);
  const int64_t* l = labels.data<int64_t>();
  for_rows(logits, [&](int64_t i, const double* row) {
    if (finite_row(row, c_))
      add(l[i], std::max_element(row, row + c_) - row);
    else
      add_non_finite(l[i]);
  });
}

void ConfusionMatrix::add_non_finite(int64_t truth) {
  CONVKIT_CHECK(truth >= 0 && truth < c_, "ConfusionMatrix: true class ", truth,
                " out of range for ", c_, " classes");
  ++non_finite_[truth];
}

int64_t ConfusionMatrix::non_finite() const {
  int64_t t = 0;
  for (int64_t v : non_finite_) t += v;
  return t;
}

int64_t ConfusionMatrix::total() const {
  int64_t t = non_finite();
  for (int64_t v : m_) t += v;
  return t;
}

double ConfusionMatrix::accuracy() const {
  int64_t diag = 0;
  for (int64_t i = 0; i < c_; ++i) diag += count(i, i);
  return total() ? double(diag) / double(total()) : 0.0;
}

std::vector<ClassReport> ConfusionMatrix::per_class() const {
  std::vector<ClassReport> out(c_);
  for (int64_t k = 0; k < c_; ++k) {
    int64_t predicted = 0, actual = non_finite_[k];
    for (int64_t j = 0; j < c_; ++j) {
      predicted += count(j, k);
      actual += count(k, j);
    }
    ClassReport& r = out[k];
    r.support = actual;
    r.precision = predicted ? double(count(k, k)) / double(predicted) : 0.0;
    r.recall = actual ? double(count(k, k)) / double(actual) : 0.0;
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  }
  return out;
}

double ConfusionMatrix::macro_f1() const {
  double s = 0;
  for (const ClassReport& r : per_class()) s += r.f1;
  return s / double(c_);
}

Tensor ConfusionMatrix::matrix() const { return Tensor::from_vector<int64_t>(m_, {c_, c_}); }

std::string ConfusionMatrix::to_string(const std::vector<std::string>& names) const {
  auto name = [&](int64_t k) {
    return k < int64_t(names.size()) && !names[k].empty() ? names[k] : std::to_string(k);
  };
  size_t w = 5;
  for (int64_t k = 0; k < c_; ++k) w = std::max(w, name(k).size());
  std::ostringstream os;
  char buf[64];
  os << "confusion matrix (rows: true class, columns: predicted)\n" << std::string(w + 1, ' ');
  for (int64_t j = 0; j < c_; ++j) {
    std::snprintf(buf, sizeof buf, "%7lld", static_cast<long long>(j));
    os << buf;
  }
  if (non_finite() > 0) os << "  non-finite";
  os << "\n";
  for (int64_t i = 0; i < c_; ++i) {
    os << name(i) << std::string(w + 1 - name(i).size(), ' ');
    for (int64_t j = 0; j < c_; ++j) {
      std::snprintf(buf, sizeof buf, "%7lld", static_cast<long long>(count(i, j)));
      os << buf;
    }
    if (non_finite() > 0) {
      std::snprintf(buf, sizeof buf, "%12lld", static_cast<long long>(non_finite_[i]));
      os << buf;
    }
    os << "  " << i << "\n";
  }
  os << "\n" << std::string(w + 1, ' ') << "precision  recall      f1  support\n";
  auto reports = per_class();
  for (int64_t k = 0; k < c_; ++k) {
    std::snprintf(buf, sizeof buf, "%9.4f %7.4f %7.4f %8lld", reports[k].precision,
                  reports[k].recall, reports[k].f1, static_cast<long long>(reports[k].support));
    os << name(k) << std::string(w + 1 - name(k).size(), ' ') << buf << "\n";
  }
  std::snprintf(buf, sizeof buf, "accuracy %.4f   macro F1 %.4f   (%lld examples)\n", accuracy(),
                macro_f1(), static_cast<long long>(total()));
  os << buf;
  return os.str();
}

}  // namespace convkit::metrics
