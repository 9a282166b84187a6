#pragma once
// Live progress on a terminal (one line redrawn in place), plain lines otherwise.
#include <cstdio>
#include <string>

#include "convkit/train/trainer.h"

namespace convkit::cli {

class Progress {
 public:
  explicit Progress(const std::string& mode);  // auto | always | never
  void update(const train::ProgressEvent& e);
  void epoch_done(const train::EpochRecord& r);

 private:
  bool live_;
  double last_draw_ = -1;
};

std::string format_duration(double seconds);

}  // namespace convkit::cli
