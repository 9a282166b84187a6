#pragma once
// nn::Module: a named tree of parameters, buffers and child modules (as torch.nn.Module).
//
// Names are dotted paths that match torchvision's state_dict keys: a child registered as "layer1",
// its child "0", that child's parameter "weight" -> "layer1.0.weight". Parameters and buffers are
// tensor handles: the module and the member variable that holds them share one storage, and
// load_state_dict() copies values in place, so members stay valid.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::detail {
struct HookList;  // a module's registered hooks (module.cpp)
}

namespace convkit::nn {

class Module;
using TensorList = std::vector<Tensor>;

// Called after a module's forward with its inputs and outputs (one each for single-tensor calls);
// assigning to `outputs` replaces what the caller receives (same count). Grad-CAM keeps the
// feature map here and calls outputs[0].retain_grad() to read its gradient after backward().
using ForwardHook =
    std::function<void(Module& module, const TensorList& inputs, TensorList& outputs)>;
// Called before a module's forward; assigning to `inputs` replaces what forward receives.
using ForwardPreHook = std::function<void(Module& module, TensorList& inputs)>;

// Owns one registered hook: removing it on destruction (RAII) or on remove(). Movable; safe to
// outlive the module (removal is then a no-op).
class [[nodiscard]] HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<convkit::detail::HookList> list, uint64_t id)
      : list_(std::move(list)), id_(id) {}
  HookHandle(HookHandle&& other) noexcept;
  HookHandle& operator=(HookHandle&& other) noexcept;
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  ~HookHandle() { remove(); }
  void remove();

 private:
  std::weak_ptr<convkit::detail::HookList> list_;
  uint64_t id_ = 0;
};

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-tensor forward that Sequential and most layers use. Modules with several inputs
  // or outputs override forward_many instead; calling this on them throws.
  virtual Tensor forward(const Tensor& x);
  // Many inputs and outputs (docs/architecture.md, "Many inputs"): the inputs in a documented
  // order, the outputs likewise. The default is the 1-in-1-out case: exactly one input, {forward}.
  virtual TensorList forward_many(const TensorList& inputs);

  // forward(x) / forward_many(inputs) with the module machinery around it: pre-hooks and hooks
  // run, an active summary() trace sees the call, current_module_path() names this module while
  // it runs, and a convkit::Error thrown inside is rethrown once, prefixed with the innermost
  // module's path and type: "in layer4.1.conv2 (Conv2d): conv2d: ...". Containers call children
  // this way; so should hand-written blocks ((*conv1)(x)) for their layers to get all of that.
  Tensor operator()(const Tensor& x);
  TensorList operator()(const TensorList& inputs);

  // Hooks on this module's calls through operator(), run in registration order; removed when the
  // returned handle is destroyed or remove()d.
  HookHandle register_forward_hook(ForwardHook hook);
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  // Whether any hook is registered on this module (a graph runner skips the call otherwise).
  bool has_forward_hooks() const;
  // Multiply-accumulates of one forward pass producing `out` from `in` (this module's own work,
  // not its children's); 0 for layers without arithmetic worth counting.
  virtual int64_t macs(const Shape& in, const Shape& out) const;

  // Layer type as shown in summaries ("Conv2d"), and its non-default options ("3, 16, kernel=3").
  const std::string& type_name() const { return type_name_; }
  virtual std::string extra_repr() const { return ""; }

  // ---- registration (names may not contain '.'; each name at most once per module) ----
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // ---- traversal, in registration order, recursing into children ----
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // Every descendant with its dotted path; the module itself first, under "".
  std::vector<std::pair<std::string, Module*>> named_modules();
  // Child by dotted path ("layer1.0"); throws naming the path and the children that do exist
  // where the walk stopped.
  std::shared_ptr<Module> child(const std::string& path) const;

  // ---- modes ----
  // Recursive. A module that stays_in_eval_when_frozen() (batch norm) and whose parameters are
  // all frozen stays in eval mode, so its running statistics do not move while the rest trains
  // (torchvision's FrozenBatchNorm2d, the usual fine-tuning practice).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- freezing (fine-tuning, feature extraction) ----
  void freeze();    // requires_grad = false on every parameter of this subtree
  void unfreeze();  // requires_grad = true
  // Freezes (or unfreezes) the parameters whose dotted name starts with `prefix` at a name
  // boundary (has_prefix: "layer1" matches "layer1.0.conv1.weight", not "layer10.weight"); returns
  // how many matched, and throws when none does (a typo would otherwise train everything
  // silently). Frozen batch norms switch to eval mode at once (see train()).
  int freeze_prefix(const std::string& prefix, bool frozen = true);

  int64_t num_parameters(bool trainable_only = false) const;
  void zero_grad();

  // ---- state ----
  // Parameters and buffers by dotted name.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in place. strict: every key of the module must be present and no extra key may
  // be. Throws naming the first missing/unexpected/mismatching tensor and both shapes, with
  // `source` (e.g. a file path) in the message; nothing is modified when it throws.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                       const std::string& source = "state dict");

 protected:
  // True for layers whose training mode only updates statistics of frozen parameters (batch
  // norm): they stay in eval mode while frozen.
  virtual bool stays_in_eval_when_frozen() const { return false; }
  bool training_ = true;

 private:
  bool frozen_in_eval() const;
  void apply_mode();
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_name(const std::string& name, const char* what) const;
  template <class F>
  void walk(const std::string& prefix, F&& f);

  std::string type_name_;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool train_requested_ = true;  // the mode train() asked for; training_ may differ when frozen
  std::shared_ptr<convkit::detail::HookList>
      hooks_;  // null until a hook is registered (hot path: 1 test)
};

// `name` starts with `prefix` at a dotted-name boundary: prefix empty, equal to name, ending in
// '.', or followed by '.' in name.
bool has_prefix(const std::string& name, const std::string& prefix);

// root.child(path)->register_forward_hook(hook); path "" is root itself. Throws as child() does.
HookHandle register_forward_hook(Module& root, const std::string& path, ForwardHook hook);

// The dotted path (torchvision's names: "layer4.1.conv2") of the module whose operator() is
// running on this thread, relative to the outermost module called; "" at the outermost module or
// outside any call. Built on demand (the hot path only pushes a pointer).
std::string current_module_path();
// The module whose operator() is running on this thread (innermost), or null.
const Module* current_module();

// Observes every Module::operator() call on this thread while set (summary() uses it); calls
// with several inputs or outputs report the first of each.
using ForwardObserver = std::function<void(const Module&, const Shape& in, const Shape& out)>;
void set_forward_observer(ForwardObserver observer);

}  // namespace convkit::nn
