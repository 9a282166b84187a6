#pragma once
// Live progress on a terminal (one line redrawn in place), plain lines otherwise: a training
// callback that prints each step's running loss/accuracy and each epoch's summary.
#include <chrono>
#include <cstdio>
#include <string>

#include "convkit/train/trainer.h"

namespace convkit::cli {

class Progress : public train::Callback {
 public:
  explicit Progress(const std::string& mode);  // auto | always | never
  void on_epoch_begin(train::TrainContext& ctx) override;
  void on_step_end(train::TrainContext& ctx) override;
  void on_epoch_end(train::TrainContext& ctx, train::EpochRecord& r) override;
  void on_interrupt(train::TrainContext& ctx) override;

 private:
  bool live_;
  double last_draw_ = -1;
  std::chrono::steady_clock::time_point epoch_start_;
  int64_t first_batch_ = 0, first_examples_ = 0;  // where this session entered the epoch
};

std::string format_duration(double seconds);

}  // namespace convkit::cli
