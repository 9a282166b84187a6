#pragma once
// A planned inference path (docs/performance.md, "Planned inference"): the model's forward pass
// traced once for one input shape and turned into a list of steps. Batch norm after a
// convolution is folded into its weights and bias; the activation (ReLU, ReLU6, leaky ReLU) and
// a residual sum that follow a convolution run inside it (oneDNN post-ops); each fused
// convolution's primitive is created and its weights reordered when the plan is built. Every other
// op replays the same convkit op on the new values. A plan is checked against the model on a
// second random input when it is built; infer::Session builds one per input shape and falls back
// to the model's own forward pass when a plan cannot be built.
//
// A plan holds its own copy of folded weights: change the model's weights and build a new plan.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::infer {

struct PlanStats {
  int64_t traced_ops = 0;          // ops the model's forward pass ran (that the output needs)
  int64_t steps = 0;               // what one call runs
  int64_t fused_convolutions = 0;  // convolutions with something folded or fused into them
  int64_t folded_batch_norms = 0;
  int64_t fused_activations = 0;
  int64_t fused_sums = 0;
  double max_abs_difference = 0;  // plan vs model on the check input
  int threads = 1;                // kernel threads a call runs on
  bool bf16 = false;              // convolutions in bfloat16
  bool int8 = false;              // convolutions in 8-bit integers
  // int8 plans: the output's error on the check images, ||plan - model|| / ||model||.
  double relative_rms_error = 0;
  // When the thread count was chosen by timing (build's threads = 0): a call's median on one
  // thread and on all of them; 0 when not timed.
  double considered_single_thread_ms = 0, considered_all_threads_ms = 0;
  std::string to_string() const;
};

// Post-training int8 calibration (docs/performance.md, "int8"): the range of values reaching each
// convolution of a model over a set of images, from its float32 plan (InferencePlan::calibrate).
struct Calibration {
  struct Range {
    float min = 0, max = 0;
    std::string what;  // the fused convolution, for messages
  };
  std::vector<Range> inputs;  // by convolution, in the order the forward pass runs them
  Tensor sample;              // up to kSampleImages of the images: int8 plans are checked on them
  int64_t images = 0;         // images the ranges were taken over
  static constexpr int64_t kSampleImages = 64;
};

struct PlanOptions {
  // Kernel threads of a call. 0: all of this thread's OpenMP threads, unless a call then takes
  // under InferencePlan::kThreadChoiceMs and one thread is faster (timed when the plan is built).
  int threads = 0;
  // Convolutions compute in bfloat16 (AVX-512 BF16; float32 accumulation, bias, sums and
  // outputs): about 3 significant digits per layer. The check against the model then allows 2%
  // of the largest output instead of 0.1%.
  bool bf16 = false;
  // Convolutions compute in 8-bit integers (AVX-512 VNNI) with this calibration's input ranges
  // and per-channel weight scales; float32 between convolutions. The plan is checked on the
  // calibration's sample images instead of random ones, and must keep the relative RMS error of
  // the output under kInt8MaxError.
  std::shared_ptr<const Calibration> int8;
};

class InferencePlan {
 public:
  // Traces `model` (which must be in eval mode) on a random input of `input_shape` and plans it.
  // Throws convkit::Error naming the reason when it cannot: the model is training, its forward
  // pass uses an op the planner does not know (named), computes a value from the input outside
  // convkit's ops, or the plan's output differs from the model's on the check input.
  static std::unique_ptr<InferencePlan> build(nn::Module& model, const Shape& input_shape,
                                              const PlanOptions& options = {});
  static constexpr double kThreadChoiceMs = 5.0;
  static constexpr double kInt8MaxError = 0.1;

  // The calibration of `model` (eval mode) on `images` [M, C, H, W] (standardized as for
  // inference; M >= 1), run through its float32 plan in batches of up to `batch`. Throws naming
  // the convolution and the images when a value reaching a convolution is NaN or infinite.
  static std::shared_ptr<const Calibration> calibrate(nn::Module& model, const Tensor& images,
                                                      int64_t batch = 32);
  ~InferencePlan();
  InferencePlan(const InferencePlan&) = delete;
  InferencePlan& operator=(const InferencePlan&) = delete;

  // x of exactly input_shape() (else throws); no autograd is recorded.
  Tensor run(const Tensor& x) const;
  const Shape& input_shape() const;
  const PlanStats& stats() const;

  // Where a call's time goes: each step's median wall time over `reps` calls of run(x), in step
  // order. `what` names the op, or the fused convolution and what is fused into it
  // ("conv2d+batch_norm+add+relu"); `kind` is the op type for grouping.
  struct StepTime {
    std::string what, kind;
    Shape output;
    double ms = 0;
  };
  std::vector<StepTime> profile(const Tensor& x, int reps) const;

  struct Impl;

 private:
  explicit InferencePlan(std::unique_ptr<Impl> impl);
  static std::unique_ptr<InferencePlan> build_with(nn::Module& model, const Shape& input_shape,
                                                   int threads, const PlanOptions& options);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convkit::infer
