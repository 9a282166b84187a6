#include "convkit/nn/module.h"

#include <algorithm>

namespace convkit::detail {
struct HookList {
  uint64_t next_id = 1;
  std::vector<std::pair<uint64_t, nn::ForwardPreHook>> pre;
  std::vector<std::pair<uint64_t, nn::ForwardHook>> post;
  bool empty() const { return pre.empty() && post.empty(); }
};
}  // namespace convkit::detail

namespace convkit::nn {

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

thread_local ForwardObserver forward_observer;

// The modules whose operator() is running on this thread, outermost first. Only pointers are
// pushed; names are looked up when an error or current_module_path() asks for them.
thread_local std::vector<const Module*> call_stack;

struct CallFrame {
  explicit CallFrame(const Module* m) { call_stack.push_back(m); }
  ~CallFrame() { call_stack.pop_back(); }
  CallFrame(const CallFrame&) = delete;
  CallFrame& operator=(const CallFrame&) = delete;
};

// An error already prefixed with the innermost module's path: outer frames let it pass unchanged.
class ModuleError : public Error {
 public:
  using Error::Error;
};

// Dotted path of `target` below `from` (modules called through forward() directly, not
// operator(), are skipped on the stack, so the step may span several levels); empty if absent.
bool find_path(const Module& from, const Module* target, std::string& path) {
  for (const auto& [name, c] : from.named_children()) {
    if (c.get() == target) {
      path = name;
      return true;
    }
    std::string rest;
    if (find_path(*c, target, rest)) {
      path = name + "." + rest;
      return true;
    }
  }
  return false;
}

std::string path_of_stack() {
  std::string path;
  for (size_t i = 1; i < call_stack.size(); ++i) {
    std::string step;
    // A module that is not a registered descendant of its caller is named by its type.
    if (!find_path(*call_stack[i - 1], call_stack[i], step))
      step = "<" + call_stack[i]->type_name() + ">";
    path = join(path, step);
  }
  return path;
}

[[noreturn]] void rethrow_annotated(const Module& m, const Error& e) {
  const std::string path = path_of_stack();
  throw ModuleError(path.empty() ? "in " + m.type_name() + ": " + e.what()
                                 : "in " + path + " (" + m.type_name() + "): " + e.what());
}

void check_count(const Module& m, const TensorList& list, size_t n, const char* what) {
  CONVKIT_CHECK(list.size() == n, m.type_name(), ": a forward hook left ", list.size(), " ", what,
                " where the call has ", n);
}
}  // namespace

void set_forward_observer(ForwardObserver observer) { forward_observer = std::move(observer); }

std::string current_module_path() { return path_of_stack(); }
const Module* current_module() { return call_stack.empty() ? nullptr : call_stack.back(); }

bool has_prefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || prefix.back() == '.' || name[prefix.size()] == '.';
}

HookHandle::HookHandle(HookHandle&& other) noexcept
    : list_(std::move(other.list_)), id_(std::exchange(other.id_, 0)) {}

HookHandle& HookHandle::operator=(HookHandle&& other) noexcept {
  if (this != &other) {
    remove();
    list_ = std::move(other.list_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void HookHandle::remove() {
  if (auto list = list_.lock()) {
    auto drop = [&](auto& v) {
      v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& p) { return p.first == id_; }),
              v.end());
    };
    drop(list->pre);
    drop(list->post);
  }
  list_.reset();
  id_ = 0;
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  CONVKIT_CHECK(hook != nullptr, type_name_, ": register_forward_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<convkit::detail::HookList>();
  const uint64_t id = hooks_->next_id++;
  hooks_->post.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

bool Module::has_forward_hooks() const { return hooks_ && !hooks_->empty(); }

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  CONVKIT_CHECK(hook != nullptr, type_name_, ": register_forward_pre_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<convkit::detail::HookList>();
  const uint64_t id = hooks_->next_id++;
  hooks_->pre.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

HookHandle register_forward_hook(Module& root, const std::string& path, ForwardHook hook) {
  return path.empty() ? root.register_forward_hook(std::move(hook))
                      : root.child(path)->register_forward_hook(std::move(hook));
}

TensorList Module::operator()(const TensorList& inputs) {
  CallFrame frame(this);
  try {
    TensorList in = inputs;
    // Loops run over copies of the hook lists: a hook may remove itself (or register another) while
    // it runs.
    if (hooks_ && !hooks_->pre.empty())
      for (auto& [id, pre] : std::vector(hooks_->pre)) pre(*this, in);
    TensorList out = forward_many(in);
    if (hooks_ && !hooks_->post.empty()) {
      const size_t n = out.size();
      for (auto& [id, post] : std::vector(hooks_->post)) post(*this, in, out);
      check_count(*this, out, n, "outputs");
    }
    if (forward_observer && !in.empty() && !out.empty())
      forward_observer(*this, in[0].shape(), out[0].shape());
    return out;
  } catch (const ModuleError&) {
    throw;
  } catch (const Error& e) {
    rethrow_annotated(*this, e);
  }
}

Tensor Module::operator()(const Tensor& x) {
  CallFrame frame(this);
  try {
    Tensor y;
    if (!hooks_ || hooks_->empty()) {
      y = forward(x);
      if (forward_observer) forward_observer(*this, x.shape(), y.shape());
      return y;
    }
    TensorList in{x};
    for (auto& [id, pre] : std::vector(hooks_->pre)) pre(*this, in);
    check_count(*this, in, 1, "inputs");
    TensorList out{forward(in[0])};
    for (auto& [id, post] : std::vector(hooks_->post)) post(*this, in, out);
    check_count(*this, out, 1, "outputs");
    if (forward_observer) forward_observer(*this, in[0].shape(), out[0].shape());
    return out[0];
  } catch (const ModuleError&) {
    throw;
  } catch (const Error& e) {
    rethrow_annotated(*this, e);
  }
}

int64_t Module::macs(const Shape&, const Shape&) const { return 0; }

Tensor Module::forward(const Tensor&) {
  throw Error(type_name_ +
              ": this module does not take a single tensor; call it with a TensorList of its "
              "inputs (forward_many)");
}

TensorList Module::forward_many(const TensorList& inputs) {
  CONVKIT_CHECK(inputs.size() == 1, type_name_, " takes one input tensor, got ", inputs.size());
  return {forward(inputs[0])};
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
    if (it == m->children_.end()) {
      std::string names;
      for (const auto& [n, c] : m->children_) names += (names.empty() ? "" : ", ") + n;
      throw Error(detail::concat(type_name_, ": no child module '", path, "' (", m->type_name_,
                                 " has no child '", part,
                                 "'; its children: ", names.empty() ? "none" : names, ")"));
    }
    found = it->second;
    m = found.get();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return found;
}

bool Module::frozen_in_eval() const {
  if (!stays_in_eval_when_frozen() || params_.empty()) return false;
  return std::none_of(params_.begin(), params_.end(),
                      [](const auto& p) { return p.second.requires_grad(); });
}

void Module::apply_mode() {
  walk("", [](const std::string&, Module& m) {
    m.training_ = m.train_requested_ && !m.frozen_in_eval();
  });
}

void Module::train(bool on) {
  walk("", [on](const std::string&, Module& m) { m.train_requested_ = on; });
  apply_mode();
}

void Module::freeze() {
  for (auto& [n, p] : named_parameters()) p.set_requires_grad(false);
  apply_mode();
}

void Module::unfreeze() {
  for (auto& [n, p] : named_parameters()) p.set_requires_grad(true);
  apply_mode();
}

int Module::freeze_prefix(const std::string& prefix, bool frozen) {
  int matched = 0;
  for (auto& [n, p] : named_parameters()) {
    if (has_prefix(n, prefix)) {
      p.set_requires_grad(!frozen);
      ++matched;
    }
  }
  CONVKIT_CHECK(matched > 0, type_name_, ": no parameter name starts with '", prefix,
                "' (prefixes match whole dotted components: 'layer1' matches 'layer1.0.*')");
  apply_mode();
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
