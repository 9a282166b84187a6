#pragma once
// `convkit demo`: the teaching demos (docs/demos.md). demo_cmd.cpp declares the subcommands;
// each demo's work is in its own file.
#include <cstdint>
#include <string>

namespace convkit::cli {

struct SpiralArgs {
  std::string out = "demo-spiral";
  int64_t points = 100, classes = 3, hidden = 100;
  double noise = 0.2, lr = 1.0, reg = 1e-3;
  int64_t linear_steps = 200, network_steps = 10000;
  uint64_t seed = 0;
};
void run_demo_spiral(const SpiralArgs& a);  // demo_spiral.cpp

}  // namespace convkit::cli
