#pragma once
// Anomaly detection (PyTorch's torch.autograd.detect_anomaly, plus the module): while an
// AnomalyDetector lives, every op's output in grad mode and every gradient backward computes is
// checked for NaN/inf (autograd::set_op_observer). The first non-finite forward value is reported
// when the innermost module that ran the op returns (nn::set_forward_observer), so the error names
// the op, the module's dotted path in the model ("features.3") and its type; a non-finite value
// produced outside every module (the task's loss) is reported by check_outside_modules(), and one
// in backward at once, naming the op whose backward produced it. Slow: every value is read once
// more.
#include <map>
#include <string>

#include "convkit/nn/module.h"

namespace convkit::train {

class AnomalyDetector {
 public:
  // Installs the observers on this thread for `model` (whose modules' paths the errors name);
  // the destructor removes them. Throws convkit::Error from inside the forward or backward pass.
  explicit AnomalyDetector(nn::Module& model);
  ~AnomalyDetector();
  AnomalyDetector(const AnomalyDetector&) = delete;
  AnomalyDetector& operator=(const AnomalyDetector&) = delete;
  // Throws if an op outside every module of the model (e.g. the loss) produced a NaN/inf.
  void check_outside_modules();

 private:
  std::map<const nn::Module*, std::string> paths_;
  std::string pending_;  // the first non-finite op not yet attributed to a module
};

// "NaN" / "inf" / "" (finite) for a floating tensor's values; "" for other dtypes.
std::string non_finite_kind(const Tensor& t);

}  // namespace convkit::train
