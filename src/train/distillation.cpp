#include "convkit/train/distillation.h"

#include <cmath>

#include "convkit/autograd.h"

namespace convkit::train {

Teacher::Teacher(const std::string& weights_path, const std::vector<double>& student_mean,
                 const std::vector<double>& student_std)
    : loaded_(load_model(weights_path)) {
  loaded_.model->eval();
  loaded_.model->freeze();
  const int64_t c = loaded_.in_channels;
  auto stats_ok = [&](const std::vector<double>& m, const std::vector<double>& s, const char* who) {
    CONVKIT_CHECK(m.empty() || (int64_t(m.size()) == c && s.size() == m.size()), "teacher ",
                  weights_path, ": ", who, " standardization has ", m.size(), " means and ",
                  s.size(), " deviations for ", c, " input channels");
  };
  stats_ok(student_mean, student_std, "student");
  stats_ok(loaded_.norm_mean, loaded_.norm_std, "teacher");
  // raw = x * s_std + s_mean; teacher input = (raw - t_mean) / t_std.
  for (int64_t k = 0; k < c; ++k) {
    double a = 1, b = 0;
    if (!student_mean.empty()) a = student_std[k], b = student_mean[k];
    if (!loaded_.norm_mean.empty()) {
      a /= loaded_.norm_std[k];
      b = (b - loaded_.norm_mean[k]) / loaded_.norm_std[k];
    }
    scale_.push_back(float(a));
    shift_.push_back(float(b));
    if (std::abs(a - 1) > 1e-7 || std::abs(b) > 1e-7) identity_ = false;
  }
}

Tensor Teacher::logits(const Tensor& student_inputs) {
  CONVKIT_CHECK(student_inputs.ndim() >= 2 && student_inputs.size(1) == loaded_.in_channels,
                "teacher '", loaded_.name, "' takes ", loaded_.in_channels,
                " input channels; the batch is ", student_inputs.shape().to_string());
  NoGradGuard no_grad;
  if (identity_) return (*loaded_.model)(student_inputs.detach());
  Tensor x = student_inputs.detach().clone();
  const int64_t n = x.size(0), c = x.size(1), per = x.numel() / std::max<int64_t>(n * c, 1);
  float* p = x.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k) {
      float* q = p + (i * c + k) * per;
      for (int64_t j = 0; j < per; ++j) q[j] = q[j] * scale_[k] + shift_[k];
    }
  return (*loaded_.model)(x);
}

}  // namespace convkit::train
