#include "convkit/nn/transfer.h"

#include <sstream>

namespace convkit::nn {

namespace {
std::string first_names(const std::vector<std::string>& names, size_t max_names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_names; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max_names)
    out += ", ... and " + std::to_string(names.size() - max_names) + " more";
  return out;
}
}  // namespace

std::string LoadReport::to_string(size_t max_names) const {
  std::ostringstream os;
  os << "init from " << source << ": loaded " << loaded.size() << ", replaced " << replaced.size()
     << ", skipped " << skipped.size() << ", missing " << missing.size() << "\n";
  if (!replaced.empty()) {
    std::vector<std::string> names;
    for (const Replaced& r : replaced)
      names.push_back(r.name + " " + r.state.to_string() + " -> " + r.model.to_string());
    os << "  replaced (shape differs, fresh init kept): " << first_names(names, max_names) << "\n";
  }
  if (!skipped.empty())
    os << "  skipped (not in the model): " << first_names(skipped, max_names) << "\n";
  if (!missing.empty())
    os << "  missing (not in the file, init kept): " << first_names(missing, max_names) << "\n";
  return os.str();
}

LoadReport load_matching(Module& model, const std::map<std::string, Tensor>& state,
                         const LoadMatchingOptions& options) {
  LoadReport r;
  r.source = options.source;
  const std::map<std::string, Tensor> mine = model.state_dict();
  for (const auto& [name, dst] : mine) {
    auto it = state.find(name);
    if (it == state.end()) {
      r.missing.push_back(name);
      continue;
    }
    const Tensor& src = it->second;
    if (src.shape() != dst.shape()) {
      r.replaced.push_back({name, src.shape(), dst.shape()});
      continue;
    }
    CONVKIT_CHECK(
        src.dtype() == dst.dtype() || (is_floating(src.dtype()) && is_floating(dst.dtype())),
        options.source, ": tensor '", name, "' has dtype ", dtype_name(src.dtype()), " but ",
        model.type_name(), " expects ", dtype_name(dst.dtype()));
    r.loaded.push_back(name);
  }
  for (const auto& [name, src] : state)
    if (!mine.count(name)) r.skipped.push_back(name);

  const std::string counts = " (loaded " + std::to_string(r.loaded.size()) + ", replaced " +
                             std::to_string(r.replaced.size()) + ", skipped " +
                             std::to_string(r.skipped.size()) + ", missing " +
                             std::to_string(r.missing.size()) + ")";
  if (!options.allow_replaced && !r.replaced.empty()) {
    const auto& x = r.replaced.front();
    throw Error(options.source + ": tensor '" + x.name + "' has shape " + x.state.to_string() +
                " but " + model.type_name() + " expects " + x.model.to_string() + counts +
                "; allow_replaced keeps the model's init for it");
  }
  CONVKIT_CHECK(options.allow_skipped || r.skipped.empty(), options.source, ": tensor '",
                r.skipped.empty() ? "" : r.skipped.front(), "' is not in ", model.type_name(),
                counts, "; allow_skipped ignores it");
  CONVKIT_CHECK(options.allow_missing || r.missing.empty(), options.source, ": ", model.type_name(),
                "'s tensor '", r.missing.empty() ? "" : r.missing.front(), "' is missing", counts,
                "; allow_missing keeps its init");

  for (const std::string& name : r.loaded) {
    Tensor dst = mine.at(name);
    dst.copy_(state.at(name).detach().to(dst.dtype()));
  }
  return r;
}

}  // namespace convkit::nn
