#pragma once
// Seedable random numbers. One Generator per stream of randomness (init, dropout, shuffling) keeps
// runs reproducible; its state can be saved and restored for resumable training.
#include <cstdint>
#include <random>
#include <string>

namespace convkit {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : engine_(seed) {}
  void seed(uint64_t s) { engine_.seed(s); }
  uint64_t next_u64() { return engine_(); }
  double uniform(double lo = 0.0, double hi = 1.0);    // [lo, hi)
  double normal(double mean = 0.0, double std = 1.0);  // Box-Muller, platform independent
  std::string state() const;                           // serialized engine state
  void set_state(const std::string& state);  // throws convkit::Error on a malformed string

 private:
  std::mt19937_64 engine_;
};

// splitmix64's finalizer: turns related seeds (consecutive epochs, indices, ranks) into unrelated
// ones.
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The process-wide generator used when an API takes no Generator (like torch.manual_seed).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace convkit
