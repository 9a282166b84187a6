#include "convkit/train/distillation.h"

#include <cmath>
#include <cstring>

#include "convkit/autograd.h"
#include "convkit/ops/loss.h"

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

namespace {

// 64-bit hash of a row's bytes (8 bytes per step, splitmix-style mixing): identical rows hash
// equal; a collision between a cached row and a different row under the same index is ~2^-64.
uint64_t hash_row(const float* p, int64_t n) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  const size_t bytes = size_t(n) * sizeof(float);
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ bytes;
  auto mix = [&](uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ULL;
  };
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t v;
    std::memcpy(&v, b + i, 8);
    mix(v);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, b + i, bytes - i);
  mix(tail);
  return h ^ (h >> 29);
}

}  // namespace

Tensor Teacher::logits(const Tensor& student_inputs, const std::vector<int64_t>& indices) {
  const int64_t n = student_inputs.ndim() > 0 ? student_inputs.size(0) : 0;
  CONVKIT_CHECK(int64_t(indices.size()) == n, "teacher: ", indices.size(),
                " indices for a batch of ", student_inputs.shape().to_string());
  if (n == 0) return logits(student_inputs);
  Tensor x = student_inputs.detach();
  const int64_t per = n > 0 ? x.numel() / n : 0;
  const float* px = x.data<float>();
  std::vector<uint64_t> hashes(n);
  std::vector<int64_t> missing;
  for (int64_t i = 0; i < n; ++i) {
    hashes[i] = hash_row(px + i * per, per);
    auto it = cache_.find(indices[i]);
    if (it == cache_.end() || it->second.hash != hashes[i]) missing.push_back(i);
  }
  hits_ += n - int64_t(missing.size());
  misses_ += int64_t(missing.size());
  if (!missing.empty()) {
    Tensor sub = x;
    if (int64_t(missing.size()) != n) {
      Shape shape = x.shape();
      shape[0] = int64_t(missing.size());
      sub = Tensor::empty(shape, DType::f32);
      for (size_t j = 0; j < missing.size(); ++j)
        std::memcpy(sub.data<float>() + j * per, px + missing[j] * per, per * sizeof(float));
    }
    Tensor t = logits(sub);
    const int64_t k = t.numel() / int64_t(missing.size());
    const float* pt = t.data<float>();
    for (size_t j = 0; j < missing.size(); ++j)
      cache_[indices[missing[j]]] = {hashes[missing[j]],
                                     std::vector<float>(pt + j * k, pt + (j + 1) * k)};
  }
  const int64_t k = int64_t(cache_.at(indices[0]).logits.size());
  Tensor out = Tensor::empty(Shape{n, k}, DType::f32);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out.data<float>() + i * k, cache_.at(indices[i]).logits.data(), k * sizeof(float));
  return out;
}

DistillationTask::DistillationTask(int64_t num_classes, std::shared_ptr<Teacher> teacher,
                                   double temperature, double alpha, ClassificationOptions options)
    : ClassificationTask(num_classes, options),
      teacher_(std::move(teacher)),
      temperature_(temperature),
      alpha_(alpha) {
  CONVKIT_CHECK(teacher_ != nullptr, "DistillationTask: no teacher");
  CONVKIT_CHECK(teacher_->loaded().num_classes == num_classes, "teacher '", teacher_->loaded().name,
                "' predicts ", teacher_->loaded().num_classes, " classes; the data has ",
                num_classes);
}

Tensor DistillationTask::main_loss(const Tensor& logits, const data::Batch& batch) {
  return distillation_loss(logits, teacher_->logits(batch.inputs, batch.indices), batch.labels,
                           temperature_, alpha_, opt_.label_smoothing);
}

}  // namespace convkit::train
