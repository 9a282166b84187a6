#pragma once
// Optimizers over parameter groups (as torch.optim): each group has its own learning rate and
// weight decay; `initial_lr` is the group's base rate that LR schedules scale.
#include <map>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::nn {
class Module;
}

namespace convkit::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 0.01;           // current learning rate (schedules write it)
  double weight_decay = 0.0;  // L2 (SGD, Adam) or decoupled (AdamW) decay
  double initial_lr = -1;     // base rate for schedules; set from lr when negative
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups, const char* name);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient; parameters without one are skipped.
  virtual void step() = 0;
  void zero_grad();

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // Per-parameter state (momentum buffers, moments, step counts) under stable names
  // "<group>.<index>.<slot>", for checkpoints; load_state throws naming a missing or mismatching
  // entry.
  virtual std::map<std::string, Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, Tensor>& state) = 0;
  // "SGD", "Adam", "AdamW": recorded in a training state so a resume with another one is refused.
  const char* name() const { return name_; }

 protected:
  std::vector<ParamGroup> groups_;
  const char* name_;
};

// One group holding every trainable parameter of `model`.
std::vector<ParamGroup> single_group(const nn::Module& model, double lr, double weight_decay = 0.0);
// Two groups: weights of rank >= 2 (conv, linear) get weight_decay; 1-D parameters (biases,
// batch-norm scales and shifts) get none, as the "bag of tricks" recipe does.
std::vector<ParamGroup> groups_no_decay_on_bias_and_bn(const nn::Module& model, double lr,
                                                       double weight_decay);

// Parameter groups for fine-tuning (docs/transfer.md): frozen parameters (requires_grad false)
// are left out, and parameters under a prefix of `lr_mult` train at lr * multiplier.
struct GroupOptions {
  double lr = 0.01;
  double weight_decay = 0.0;
  // As groups_no_decay_on_bias_and_bn: parameters of rank < 2 get no weight decay.
  bool no_decay_on_bias_and_bn = true;
  // (prefix, multiplier >= 0), matched at dotted-name boundaries (nn::has_prefix: "fc" matches
  // "fc.weight", not "fc2.weight"); the longest matching prefix wins.
  std::vector<std::pair<std::string, double>> lr_mult;
};
// Groups in a fixed order (so checkpoints of the optimizer state line up on resume): the base rate
// first, then each lr_mult entry in the given order; within each, the decayed group before the
// undecayed one; empty groups are dropped. Throws when a multiplier is negative or a prefix matches
// no trainable parameter (naming the prefix and whether it matched only frozen ones).
std::vector<ParamGroup> param_groups(const nn::Module& model, const GroupOptions& options);

// Scales all gradients in place so that their global L2 norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace convkit::optim
