#include "convkit/nn/summary.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "convkit/autograd.h"

namespace convkit::nn {

namespace {
int64_t own_params(Module& m) {
  int64_t n = m.num_parameters();
  for (auto& [name, c] : m.named_children()) n -= c->num_parameters();
  return n;
}

}  // namespace

std::string with_commas(int64_t v) {
  // Appends digit groups right to left (string::insert trips a GCC 12 -Wrestrict false positive).
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

namespace {
// Runs `forward` (one call of the model on zeros) with the observer collecting layers.
template <class F>
ModelInfo trace_call(Module& model, F&& forward) {
  std::map<const Module*, std::string> names;
  for (auto& [name, m] : model.named_modules()) names[m] = name.empty() ? "(model)" : name;
  ModelInfo info;
  const bool was_training = model.is_training();
  model.eval();
  set_forward_observer([&](const Module& m, const Shape& in, const Shape& out) {
    Module& mm = const_cast<Module&>(m);
    // Containers are shown through their layers; a module with parameters of its own is a layer.
    if (!mm.named_children().empty() && own_params(mm) == 0) return;
    LayerInfo l{names.count(&m) ? names[&m] : "?",
                m.type_name(),
                m.extra_repr(),
                out,
                own_params(mm),
                m.macs(in, out)};
    info.layers.push_back(l);
  });
  try {
    NoGradGuard no_grad;
    info.output = forward();
  } catch (...) {
    set_forward_observer(nullptr);
    model.train(was_training);
    throw;
  }
  set_forward_observer(nullptr);
  model.train(was_training);
  info.params = model.num_parameters();
  info.trainable = model.num_parameters(true);
  for (const LayerInfo& l : info.layers) info.macs += l.macs;
  return info;
}

std::string format_summary(const ModelInfo& info, const std::string& input) {
  size_t wn = 5, wt = 4, wd = 0, ws = 12;
  for (const LayerInfo& l : info.layers) {
    wn = std::max(wn, l.name.size());
    wt = std::max(wt, l.type.size());
    wd = std::max(wd, l.detail.size());
    ws = std::max(ws, l.output.to_string().size());
  }
  std::ostringstream os;
  auto pad = [](const std::string& s, size_t w) {
    return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  auto lpad = [](const std::string& s, size_t w) {
    return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
  };
  std::string header = pad("Layer", wn) + "  " + pad("Type", wt) + "  " + pad("Options", wd) +
                       "  " + pad("Output shape", ws) + "  " + lpad("Params", 12) + "  " +
                       lpad("MACs", 15);
  std::string rule(header.size(), '-');
  os << "Input " << input << "\n" << rule << "\n" << header << "\n" << rule << "\n";
  for (const LayerInfo& l : info.layers)
    os << pad(l.name, wn) << "  " << pad(l.type, wt) << "  " << pad(l.detail, wd) << "  "
       << pad(l.output.to_string(), ws) << "  " << lpad(with_commas(l.params), 12) << "  "
       << lpad(with_commas(l.macs), 15) << "\n";
  os << rule << "\n";
  os << "Total params: " << with_commas(info.params) << "\n";
  os << "Trainable params: " << with_commas(info.trainable) << "\n";
  os << "Non-trainable params: " << with_commas(info.params - info.trainable) << "\n";
  os << "MACs per example: " << with_commas(info.macs) << "\n";
  os << "Output: " << info.output.to_string() << "\n";
  return os.str();
}
}  // namespace

ModelInfo trace(Module& model, const Shape& input) {
  return trace_call(model, [&] { return model(Tensor::zeros(input)).shape(); });
}

ModelInfo trace(Module& model, const std::vector<Shape>& inputs) {
  return trace_call(model, [&] {
    TensorList xs;
    for (const Shape& s : inputs) xs.push_back(Tensor::zeros(s));
    TensorList ys = model(xs);
    CONVKIT_CHECK(!ys.empty(), model.type_name(), ": forward_many returned no output");
    return ys[0].shape();
  });
}

std::string summary(Module& model, const Shape& input) {
  return format_summary(trace(model, input), input.to_string());
}

std::string summary(Module& model, const std::vector<Shape>& inputs) {
  std::string text;
  for (const Shape& s : inputs) text += (text.empty() ? "" : ", ") + s.to_string();
  return format_summary(trace(model, inputs), text);
}

}  // namespace convkit::nn
