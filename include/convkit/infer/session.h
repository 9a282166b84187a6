#pragma once
// An inference session over a model bundle: eval mode, no autograd, a batch of standardized inputs
// -> logits, probabilities or the top-k classes (docs/inference.md).
//
// Thread safety: every method is const and may be called from several threads at once. Calls are
// serialized by a mutex inside the session: the oneDNN backend runs every primitive on one shared
// stream (src/kernels/dnnl/context.cpp), which oneDNN does not allow two threads to use at once,
// and modules may cache per-shape state. Each call still uses all kernel threads (OpenMP), so
// throughput is that of one caller; concurrent callers get exactly the results of serial calls.
// The no-grad guard is thread-local, so a caller's own autograd state is untouched. Until the
// oneDNN streams are per thread, convkit ops that other threads run at the same time outside any
// session (infer::evaluate's loss, a training loop) are not covered by this lock.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "convkit/infer/bundle.h"
#include "convkit/infer/plan.h"
#include "convkit/tensor.h"

namespace convkit::infer {

struct Prediction {
  int64_t index = 0;
  std::string name;  // the bundle's class name, or the index
  double probability = 0;
};

// The k classes of highest probability in each row of `probabilities` [N, C] (k is capped at C),
// highest first, ties toward the lower index. A row with a NaN or infinite value yields no
// predictions (an empty vector): there is no meaningful ranking to report.
std::vector<std::vector<Prediction>> top_k(const Tensor& probabilities, int64_t k,
                                           const std::vector<std::string>& class_names = {});

// Rows of scores [N, C] holding a NaN or infinite value.
int64_t count_non_finite_rows(const Tensor& scores);

struct SessionOptions {
  // Run through an InferencePlan (plan.h) built for each input shape, falling back to the module's
  // forward pass for a shape whose plan cannot be built. CONVKIT_NO_PLAN=1 in the environment
  // turns it off for every session.
  bool plan = true;
  size_t max_plans = 8;  // shapes planned at once; the oldest plan is dropped beyond that
  bool bf16 = false;     // plans compute convolutions in bfloat16 (PlanOptions::bf16)
  // Defined: plans compute convolutions in int8 (PlanOptions::int8), calibrated on these images
  // [M, C, H, W] (standardized like the inputs) when the session is made; a plan is then for
  // images of their size only.
  Tensor int8_calibration;
};

class Session {
 public:
  // Switches the bundle's module to eval mode for good (a session never trains). The module's
  // weights must not change afterwards (plans hold folded copies).
  explicit Session(ModelBundle bundle, SessionOptions options = {});

  const ModelBundle& bundle() const { return bundle_; }

  // inputs [N, C, H, W], standardized (preprocess.h) -> logits [N, num_classes]. Throws naming
  // the model and the expected shape when C is not in_channels or H x W is not an accepted size
  // (check_input_size), and when the output is not [N, num_classes].
  Tensor logits(const Tensor& inputs) const;
  // softmax(logits) over classes.
  Tensor probabilities(const Tensor& inputs) const;
  // top_k(probabilities(inputs), k, class names).
  std::vector<std::vector<Prediction>> classify(const Tensor& inputs, int64_t k) const;
  // The top k for each image file (preprocess_file; errors name the file).
  std::vector<std::vector<Prediction>> classify_files(const std::vector<std::string>& paths,
                                                      int64_t k) const;

  // One line per input shape seen: its plan's statistics, or why it runs unplanned.
  std::vector<std::string> plan_report() const;

 private:
  Tensor run(const Tensor& inputs, bool probabilities) const;
  // The plan for `shape` (built on first use; null when it cannot be built). Under mu_.
  const InferencePlan* plan_for(const Shape& shape) const;

  struct Planned {
    std::unique_ptr<InferencePlan> plan;  // null: refused
    std::string refused;
  };
  // Builds the plan for a new shape, dropping the oldest beyond max_plans. Under mu_.
  Planned plan_shape(const Shape& shape) const;
  ModelBundle bundle_;
  SessionOptions options_;
  std::shared_ptr<const Calibration> calibration_;  // int8
  mutable std::mutex mu_;
  mutable std::map<std::string, Planned> plans_;  // by shape
  mutable std::deque<std::string> plan_order_;    // oldest first
};

}  // namespace convkit::infer
