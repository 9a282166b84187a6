#include "convkit/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace convkit::optim {

namespace {
struct Constant : LRSchedule {
  double lr_at(int64_t, double base) const override { return base; }
  std::string describe() const override { return "constant"; }
};

struct Step : LRSchedule {
  int64_t size;
  double gamma;
  Step(int64_t s, double g) : size(s), gamma(g) {}
  double lr_at(int64_t t, double base) const override {
    return base * std::pow(gamma, double(t / size));
  }
  std::string describe() const override {
    return detail::concat("step(every ", size, ", gamma ", gamma, ")");
  }
};

struct MultiStep : LRSchedule {
  std::vector<int64_t> milestones;
  double gamma;
  MultiStep(std::vector<int64_t> m, double g) : milestones(std::move(m)), gamma(g) {}
  double lr_at(int64_t t, double base) const override {
    auto passed = std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
    return base * std::pow(gamma, double(passed));
  }
  std::string describe() const override {
    std::string s = "multistep(";
    for (size_t i = 0; i < milestones.size(); ++i) {
      if (i) s += ",";
      s += std::to_string(milestones[i]);
    }
    return s + detail::concat("; gamma ", gamma, ")");
  }
};

struct Exponential : LRSchedule {
  double gamma;
  explicit Exponential(double g) : gamma(g) {}
  double lr_at(int64_t t, double base) const override { return base * std::pow(gamma, double(t)); }
  std::string describe() const override { return detail::concat("exponential(gamma ", gamma, ")"); }
};

struct Cosine : LRSchedule {
  int64_t t_max;
  double eta_min;
  Cosine(int64_t t, double e) : t_max(t), eta_min(e) {}
  double lr_at(int64_t t, double base) const override {
    return eta_min +
           (base - eta_min) * (1 + std::cos(std::numbers::pi * double(t) / double(t_max))) / 2;
  }
  std::string describe() const override {
    return detail::concat("cosine(t_max ", t_max, ", eta_min ", eta_min, ")");
  }
};

struct Warmup : LRSchedule {
  SchedulePtr after;
  int64_t warmup;
  double start;
  Warmup(SchedulePtr a, int64_t w, double s) : after(std::move(a)), warmup(w), start(s) {}
  double lr_at(int64_t t, double base) const override {
    if (t < warmup) return base * (start + (1 - start) * double(t) / double(warmup));
    return after->lr_at(t - warmup, base);
  }
  std::string describe() const override {
    return detail::concat("warmup(", warmup, " from ", start, "x) then ", after->describe());
  }
};
}  // namespace

SchedulePtr constant_lr() { return std::make_shared<Constant>(); }

SchedulePtr step_lr(int64_t step_size, double gamma) {
  CONVKIT_CHECK(step_size > 0, "step_lr: step_size must be positive, got ", step_size);
  return std::make_shared<Step>(step_size, gamma);
}

SchedulePtr multi_step_lr(std::vector<int64_t> milestones, double gamma) {
  CONVKIT_CHECK(std::is_sorted(milestones.begin(), milestones.end()),
                "multi_step_lr: milestones must be increasing");
  return std::make_shared<MultiStep>(std::move(milestones), gamma);
}

SchedulePtr exponential_lr(double gamma) {
  CONVKIT_CHECK(gamma > 0, "exponential_lr: gamma must be positive, got ", gamma);
  return std::make_shared<Exponential>(gamma);
}

SchedulePtr cosine_lr(int64_t t_max, double eta_min) {
  CONVKIT_CHECK(t_max > 0, "cosine_lr: t_max must be positive, got ", t_max);
  return std::make_shared<Cosine>(t_max, eta_min);
}

SchedulePtr with_warmup(SchedulePtr after, int64_t warmup, double start_factor) {
  CONVKIT_CHECK(after != nullptr, "with_warmup: no schedule to follow the warm-up");
  CONVKIT_CHECK(warmup >= 0, "with_warmup: negative warm-up length ", warmup);
  CONVKIT_CHECK(start_factor > 0 && start_factor <= 1,
                "with_warmup: start_factor must lie in (0, 1], got ", start_factor);
  return std::make_shared<Warmup>(std::move(after), warmup, start_factor);
}

void apply_schedule(const LRSchedule& schedule, Optimizer& opt, int64_t t) {
  for (ParamGroup& g : opt.param_groups()) g.lr = schedule.lr_at(t, g.initial_lr);
}

ReduceOnPlateau::ReduceOnPlateau(PlateauOptions options) : opt_(options) {
  CONVKIT_CHECK(opt_.factor > 0 && opt_.factor < 1,
                "ReduceOnPlateau: factor must lie in (0, 1), got ", opt_.factor);
  best_ = opt_.maximize ? -std::numeric_limits<double>::infinity()
                        : std::numeric_limits<double>::infinity();
}

bool ReduceOnPlateau::step(double metric, Optimizer& opt) {
  const bool better =
      opt_.maximize ? metric > best_ * (1 + opt_.threshold) : metric < best_ * (1 - opt_.threshold);
  if (better) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ <= opt_.patience) return false;
  bool reduced = false;
  for (ParamGroup& g : opt.param_groups()) {
    double next = std::max(g.lr * opt_.factor, opt_.min_lr);
    if (g.lr - next > 1e-8) {  // torch's eps: changes smaller than this are ignored
      g.lr = next;
      reduced = true;
    }
  }
  cooldown_left_ = opt_.cooldown;
  bad_epochs_ = 0;
  return reduced;
}

void ReduceOnPlateau::load_state(const std::vector<double>& s) {
  CONVKIT_CHECK(s.size() == 3, "ReduceOnPlateau: state has ", s.size(), " values, expected 3");
  best_ = s[0];
  bad_epochs_ = int64_t(s[1]);
  cooldown_left_ = int64_t(s[2]);
}

}  // namespace convkit::optim
