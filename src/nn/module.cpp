#include "convkit/nn/module.h"

#include <algorithm>

namespace convkit::nn {

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

namespace {
thread_local ForwardObserver forward_observer;
}

void set_forward_observer(ForwardObserver observer) { forward_observer = std::move(observer); }

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  if (forward_observer) forward_observer(*this, x.shape(), y.shape());
  return y;
}

int64_t Module::macs(const Shape&, const Shape&) const { return 0; }

Tensor Module::forward(const Tensor&) {
  throw Error(type_name_ +
              ": this module does not take a single tensor; call its own forward method");
}

void Module::check_name(const std::string& name, const char* what) const {
  CONVKIT_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": ", what,
                " name '", name, "' must be non-empty and contain no '.'");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& p) { return p.first == name; });
  };
  CONVKIT_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), type_name_, ": name '",
                name, "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name(name, "parameter");
  CONVKIT_CHECK(value.defined() && is_floating(value.dtype()), type_name_, ": parameter '", name,
                "' must be a defined floating tensor");
  Tensor p = value.is_leaf() ? value : value.detach();
  p.set_requires_grad(requires_grad);
  params_.emplace_back(name, p);
  return p;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name, "buffer");
  CONVKIT_CHECK(value.defined(), type_name_, ": buffer '", name, "' is undefined");
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_name(name, "module");
  CONVKIT_CHECK(child != nullptr, type_name_, ": module '", name, "' is null");
  children_.emplace_back(name, std::move(child));
}

template <class F>
void Module::walk(const std::string& prefix, F&& f) {
  f(prefix, *this);
  for (auto& [name, c] : children_) c->walk(join(prefix, name), f);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  const_cast<Module*>(this)->walk("", [&](const std::string& prefix, Module& m) {
    for (auto& [n, t] : m.params_) out.emplace_back(join(prefix, n), t);
  });
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  const_cast<Module*>(this)->walk("", [&](const std::string& prefix, Module& m) {
    for (auto& [n, t] : m.buffers_) out.emplace_back(join(prefix, n), t);
  });
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  walk("", [&](const std::string& prefix, Module& m) { out.emplace_back(prefix, &m); });
  return out;
}

std::shared_ptr<Module> Module::child(const std::string& path) const {
  const Module* m = this;
  std::shared_ptr<Module> found;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto it = std::find_if(m->children_.begin(), m->children_.end(),
                           [&](const auto& p) { return p.first == part; });
    CONVKIT_CHECK(it != m->children_.end(), type_name_, ": no child module '", path, "' (",
                  m->type_name_, " has no child '", part, "')");
    found = it->second;
    m = found.get();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return found;
}

void Module::train(bool on) {
  walk("", [on](const std::string&, Module& m) { m.training_ = on; });
}

void Module::freeze() {
  for (auto& [n, p] : named_parameters()) p.set_requires_grad(false);
}

void Module::unfreeze() {
  for (auto& [n, p] : named_parameters()) p.set_requires_grad(true);
}

int Module::freeze_prefix(const std::string& prefix, bool frozen) {
  int matched = 0;
  for (auto& [n, p] : named_parameters()) {
    if (n.compare(0, prefix.size(), prefix) == 0) {
      p.set_requires_grad(!frozen);
      ++matched;
    }
  }
  CONVKIT_CHECK(matched > 0, type_name_, ": no parameter name starts with '", prefix, "'");
  return matched;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

void Module::zero_grad() {
  for (auto& [n, p] : named_parameters()) p.zero_grad();
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [n, t] : named_parameters()) out.emplace(n, t);
  for (auto& [n, t] : named_buffers()) out.emplace(n, t);
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                             const std::string& source) {
  std::map<std::string, Tensor> mine = state_dict();
  // Validate everything first so a failed load leaves the module untouched.
  for (auto& [name, dst] : mine) {
    auto it = state.find(name);
    if (it == state.end()) {
      CONVKIT_CHECK(!strict, source, ": tensor '", name, "' (shape ", dst.shape().to_string(),
                    ") of ", type_name_, " is missing");
      continue;
    }
    const Tensor& src = it->second;
    CONVKIT_CHECK(src.shape() == dst.shape(), source, ": tensor '", name, "' has shape ",
                  src.shape().to_string(), " but ", type_name_, " expects ",
                  dst.shape().to_string());
    CONVKIT_CHECK(
        src.dtype() == dst.dtype() || (is_floating(src.dtype()) && is_floating(dst.dtype())),
        source, ": tensor '", name, "' has dtype ", dtype_name(src.dtype()), " but ", type_name_,
        " expects ", dtype_name(dst.dtype()));
  }
  if (strict)
    for (auto& [name, src] : state)
      CONVKIT_CHECK(mine.count(name), source, ": unexpected tensor '", name, "' (shape ",
                    src.shape().to_string(), "), not in ", type_name_);
  for (auto& [name, dst] : mine) {
    auto it = state.find(name);
    if (it != state.end()) dst.copy_(it->second.detach().to(dst.dtype()));
  }
}

}  // namespace convkit::nn
