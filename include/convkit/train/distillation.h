#pragma once
// A trained model used as a distillation teacher (Hinton et al. 2015): frozen, in eval mode, fed
// the student's batches. The loss itself is convkit::distillation_loss (ops/loss.h).
#include <string>
#include <vector>

#include "convkit/train/checkpoint.h"

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

  const LoadedModel& loaded() const { return loaded_; }

 private:
  LoadedModel loaded_;
  std::vector<float> scale_, shift_;  // per channel: teacher input = x * scale + shift
  bool identity_ = true;
};

}  // namespace convkit::train
