#include "convkit/data/transform.h"

namespace convkit::data {

namespace {
// splitmix64 finalizer: neighbouring indices get unrelated seeds.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t example_seed(uint64_t epoch_seed, int64_t index) {
  return mix(epoch_seed ^ mix(uint64_t(index) + 0x632be59bd9b4e019ULL));
}

}  // namespace convkit::data
