#pragma once
// A trained model used as a distillation teacher (Hinton et al. 2015): frozen, in eval mode, fed
// the student's batches. The loss itself is convkit::distillation_loss (ops/loss.h).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "convkit/train/checkpoint.h"
#include "convkit/train/classification.h"

namespace convkit::train {

class Teacher {
 public:
  // Loads weights written by `convkit train` (model name, config and input standardization come
  // from the file's metadata). The student's batches arrive standardized with (student_mean,
  // student_std) (empty: raw inputs); they are mapped to the teacher's own standardization, so a
  // teacher trained with other statistics still sees what it was trained on.
  Teacher(const std::string& weights_path, const std::vector<double>& student_mean,
          const std::vector<double>& student_std);

  // Teacher logits [N, classes] for a batch of student inputs; no autograd.
  Tensor logits(const Tensor& student_inputs);

  // The same, remembering each row's logits under its dataset index together with a hash of the
  // row's values: a later epoch that presents the same row under that index (no augmentation)
  // reuses them instead of running the teacher again, and a changed row (augmented, another
  // crop) is recomputed. Costs num_classes floats per example.
  Tensor logits(const Tensor& student_inputs, const std::vector<int64_t>& indices);

  // Rows answered from the cache / computed, since construction.
  int64_t cache_hits() const { return hits_; }
  int64_t cache_misses() const { return misses_; }

  const LoadedModel& loaded() const { return loaded_; }

 private:
  LoadedModel loaded_;
  std::vector<float> scale_, shift_;  // per channel: teacher input = x * scale + shift
  bool identity_ = true;
  struct Cached {
    uint64_t hash;
    std::vector<float> logits;
  };
  std::unordered_map<int64_t, Cached> cache_;
  int64_t hits_ = 0, misses_ = 0;
};

// Classification with a teacher: the main loss is distillation_loss(student logits, teacher
// logits, labels, temperature, alpha, label smoothing) (ops/loss.h); auxiliary heads (GoogLeNet)
// keep plain cross entropy. Logs and metrics as ClassificationTask.
class DistillationTask : public ClassificationTask {
 public:
  // Throws when the teacher predicts another number of classes.
  DistillationTask(int64_t num_classes, std::shared_ptr<Teacher> teacher, double temperature,
                   double alpha, ClassificationOptions options = {});
  Teacher& teacher() { return *teacher_; }

 protected:
  Tensor main_loss(const Tensor& logits, const data::Batch& batch) override;

 private:
  std::shared_ptr<Teacher> teacher_;
  double temperature_, alpha_;
};

}  // namespace convkit::train
