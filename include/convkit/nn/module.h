#pragma once
// nn::Module: a named tree of parameters, buffers and child modules (as torch.nn.Module).
//
// Names are dotted paths that match torchvision's state_dict keys: a child registered as "layer1",
// its child "0", that child's parameter "weight" -> "layer1.0.weight". Parameters and buffers are
// tensor handles: the module and the member variable that holds them share one storage, and
// load_state_dict() copies values in place, so members stay valid.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::nn {

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-tensor forward that Sequential and most layers use. Modules with other inputs
  // (several tensors, image + metadata) define their own methods; calling this on them throws.
  virtual Tensor forward(const Tensor& x);
  // forward(x), reported to an active summary() trace. Containers call children this way; so
  // should hand-written blocks ((*conv1)(x)) for their layers to appear in summaries.
  Tensor operator()(const Tensor& x);
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
  // Child by dotted path ("layer1.0"); throws naming the path when absent.
  std::shared_ptr<Module> child(const std::string& path) const;

  // ---- modes ----
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- freezing (fine-tuning, feature extraction) ----
  void freeze();    // requires_grad = false on every parameter of this subtree
  void unfreeze();  // requires_grad = true
  // Freezes (or unfreezes) the parameters whose dotted name starts with `prefix`; returns how many
  // matched, and throws when none does (a typo would otherwise train everything silently).
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
  bool training_ = true;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_name(const std::string& name, const char* what) const;
  template <class F>
  void walk(const std::string& prefix, F&& f);

  std::string type_name_;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Observes every Module::operator() call on this thread while set (summary() uses it).
using ForwardObserver = std::function<void(const Module&, const Shape& in, const Shape& out)>;
void set_forward_observer(ForwardObserver observer);

}  // namespace convkit::nn
