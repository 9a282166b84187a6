#include "convkit/io/state_dict.h"

#include <filesystem>

#include "convkit/io/onnx.h"
#include "convkit/io/safetensors.h"

namespace convkit::io {

std::map<std::string, Tensor> read_state_dict(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".onnx") return load_onnx(path)->state_dict();
  CONVKIT_CHECK(ext == ".safetensors", path, ": cannot read weights from a '", ext,
                "' file; give a .safetensors file (convkit checkpoint or torchvision state dict) "
                "or an .onnx model");
  SafetensorsFile f = load_safetensors(path);
  auto kind = f.metadata.find("kind");
  if (kind == f.metadata.end() || kind->second != "train_state") return std::move(f.tensors);
  std::map<std::string, Tensor> model;
  const std::string prefix = "model.";
  for (auto& [k, t] : f.tensors)
    if (k.rfind(prefix, 0) == 0) model.emplace(k.substr(prefix.size()), t);
  return model;
}

}  // namespace convkit::io
