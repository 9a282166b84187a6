#include "convkit/random.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "convkit/error.h"

namespace convkit {

double Generator::uniform(double lo, double hi) {
  // 53 random bits -> [0, 1): the same sequence on every platform (std distributions are not).
  double u = double(engine_() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * u;
}

double Generator::normal(double mean, double std) {
  double u1 = uniform();
  double u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  return mean + std * z;
}

std::string Generator::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 e;
  is >> e;
  CONVKIT_CHECK(!is.fail(), "Generator::set_state: malformed generator state (", state.size(),
                " characters)");
  engine_ = e;
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

}  // namespace convkit
