#include "convkit/data/transform.h"

#include "convkit/random.h"

namespace convkit::data {

// Neighbouring indices get unrelated seeds.
uint64_t example_seed(uint64_t epoch_seed, int64_t index) {
  return splitmix64(epoch_seed ^ splitmix64(uint64_t(index) + 0x632be59bd9b4e019ULL));
}

}  // namespace convkit::data
