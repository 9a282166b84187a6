#pragma once
// Learning-rate schedules as closed-form functions of the step (or epoch) index t, so a resumed
// run only needs t. Each maps a group's base rate (ParamGroup::initial_lr) to the rate at t and
// equals the torch.optim.lr_scheduler class named beside it.
#include <memory>
#include <string>
#include <vector>

#include "convkit/optim/optimizer.h"

namespace convkit::optim {

class LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual double lr_at(int64_t t, double base_lr) const = 0;
  virtual std::string describe() const = 0;
};
using SchedulePtr = std::shared_ptr<const LRSchedule>;

SchedulePtr constant_lr();
// StepLR: base * gamma^floor(t / step_size).
SchedulePtr step_lr(int64_t step_size, double gamma = 0.1);
// MultiStepLR: base * gamma^(number of milestones <= t); milestones increasing.
SchedulePtr multi_step_lr(std::vector<int64_t> milestones, double gamma = 0.1);
// ExponentialLR: base * gamma^t.
SchedulePtr exponential_lr(double gamma);
// CosineAnnealingLR (closed form): eta_min + (base - eta_min) * (1 + cos(pi t / t_max)) / 2.
SchedulePtr cosine_lr(int64_t t_max, double eta_min = 0.0);
// LinearLR warm-up for `warmup` steps from start_factor * base to base, then `after` shifted by
// `warmup` (SequentialLR([LinearLR, after], milestones=[warmup])). Goyal et al. 2017, section 2.2.
SchedulePtr with_warmup(SchedulePtr after, int64_t warmup, double start_factor = 0.1);

// Sets every group's lr to schedule.lr_at(t, group.initial_lr).
void apply_schedule(const LRSchedule& schedule, Optimizer& opt, int64_t t);

// The linear scaling rule (Goyal et al. 2017): lr = base_lr * batch_size / base_batch_size.
inline double linear_scaled_lr(double base_lr, int64_t batch_size, int64_t base_batch_size = 256) {
  return base_lr * double(batch_size) / double(base_batch_size);
}

// ReduceLROnPlateau: after `patience` epochs without improvement of the metric (relative threshold
// as torch's default 'rel' mode), multiplies every group's lr by `factor` (not below min_lr), then
// waits `cooldown` epochs.
struct PlateauOptions {
  bool maximize = false;  // true for accuracy, false for loss
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0.0;
};

class ReduceOnPlateau {
 public:
  explicit ReduceOnPlateau(PlateauOptions options = {});
  // Feeds one epoch's metric; returns true when it reduced the learning rates.
  bool step(double metric, Optimizer& opt);
  // State for checkpoints: best, bad epochs, cooldown left.
  std::vector<double> state() const { return {best_, double(bad_epochs_), double(cooldown_left_)}; }
  void load_state(const std::vector<double>& s);

 private:
  PlateauOptions opt_;
  double best_;
  int64_t bad_epochs_ = 0;
  int64_t cooldown_left_ = 0;
};

}  // namespace convkit::optim
