#include "support/golden.h"

#include <filesystem>

#include "support/gradcheck.h"

namespace convkit::test {

io::SafetensorsFile load_golden(const std::string& name) {
  std::string path = std::string(CONVKIT_GOLDEN_DIR) + "/" + name + ".safetensors";
  if (!std::filesystem::exists(path))
    throw Error("golden file " + path +
                " is missing; regenerate it with: /usr/bin/python3 tests/golden/generate.py");
  io::SafetensorsFile f = io::load_safetensors(path);
  auto it = f.metadata.find("format_version");
  if (it == f.metadata.end() || it->second != "1")
    throw Error(
        "golden file " + path +
        " has a stale format; regenerate it with: /usr/bin/python3 tests/golden/generate.py");
  return f;
}

Tensor golden_tensor(const io::SafetensorsFile& f, const std::string& key) {
  auto it = f.tensors.find(key);
  if (it == f.tensors.end())
    throw Error("golden tensor '" + key +
                "' missing; regenerate with: /usr/bin/python3 tests/golden/generate.py");
  return it->second;
}

double rel_error(const Tensor& a, const Tensor& b) {
  return max_abs_diff(a, b) / std::max(max_abs(b), 1e-12);
}

}  // namespace convkit::test
