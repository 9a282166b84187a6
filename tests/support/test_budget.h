#pragma once
// What the test suite can afford where: it runs on 2 cores on both backends and again under
// ASan/UBSan, and CI must stay well under its 90-minute limit.
#include "convkit/backend.h"

namespace convkit::test {

// Plain-loop kernels and the sanitizers make models over 1M parameters take minutes: those run
// with oneDNN in optimized builds only.
inline bool large_models_run_here() {
#ifdef CONVKIT_SANITIZE_BUILD
  return false;
#else
  return backend() != Backend::ref;
#endif
}

}  // namespace convkit::test
