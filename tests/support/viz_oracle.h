#pragma once
// Test-time PyTorch references of the visualization tests: tests/golden/<script> --out DIR CASE
// writes DIR/<prefix>_<CASE>.safetensors (never in git).
#include <string>

namespace convkit::test {

// The path of the reference file, generated on first use (and again when the script is newer)
// under a file lock so that ctest's parallel backend runs generate it once; "" with `why` set when
// Python lacks `modules` (checked only when the file must be generated: importing torch takes
// seconds). Throws with the script's output when it fails.
std::string viz_reference(const std::string& script, const std::string& prefix,
                          const std::string& name, const std::string& modules, std::string* why);

}  // namespace convkit::test
