// save_onnx: trace one forward pass (core/trace.h), keep the ops the output depends on, and
// write each as ONNX nodes (export_ops.cpp) with the module's parameters and buffers as named
// initializers.
#include "io/onnx/export.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "convkit/io/onnx.h"
#include "convkit/random.h"

namespace convkit::io {

using namespace onnx_detail;

namespace onnx_detail {

std::string ExportGraph::fresh(const std::string& hint) {
  const int k = used_[hint]++;
  return k == 0 ? hint : hint + "_" + std::to_string(k);
}

void ExportGraph::set_scope(const std::string& module_path) {
  scope_prefix_.clear();
  if (module_path.empty()) return;
  // Each segment qualified ("layer1", "layer1.0", ...); an unregistered module ("<Type>") ends it.
  size_t end = 0;
  while (end != std::string::npos) {
    end = module_path.find('.', end + 1);
    const std::string path = module_path.substr(0, end);
    if (path.find('<') != std::string::npos) break;
    scope_prefix_ += "/" + path;
  }
  if (!scope_prefix_.empty()) scope_prefix_ += "/";
}

std::string ExportGraph::constant(const Tensor& t, const std::string& hint) {
  const std::string name = fresh("const_" + hint);
  tensor_to_proto(t, name, g_->add_initializer());
  return name;
}

std::string ExportGraph::ints(const std::vector<int64_t>& values, const std::string& hint) {
  return constant(Tensor::from_vector(values, {int64_t(values.size())}), hint);
}

std::string ExportGraph::scalar(double value, DType dtype, const std::string& hint) {
  return constant(Tensor::full({}, value, dtype), hint);
}

onnx::NodeProto* ExportGraph::node(const std::string& op_type,
                                   const std::vector<std::string>& inputs,
                                   const std::string& output) {
  onnx::NodeProto* n = g_->add_node();
  n->set_op_type(op_type);
  n->set_name(fresh(scope_prefix_ + op_type));
  for (const std::string& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void ExportGraph::attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::INT), a->set_i(v);
}
void ExportGraph::attr(onnx::NodeProto* n, const std::string& name, double v) {
  auto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(float(v));
}
void ExportGraph::attr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::STRING), a->set_s(v);
}
void ExportGraph::attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

}  // namespace onnx_detail

namespace {

class Recorder : public detail::OpTracer {
 public:
  void record(detail::TracedOp op) override {
    ops.push_back(std::move(op));
    scopes.push_back(nn::current_module_path());
  }
  std::vector<detail::TracedOp> ops;
  std::vector<std::string> scopes;  // the module path each op ran in
};

class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(autograd::grad_enabled()) {
    autograd::set_grad_enabled(on);
  }
  ~GradModeGuard() { autograd::set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

// Restores a module's training flag however the trace ends.
class ModeGuard {
 public:
  explicit ModeGuard(nn::Module& m) : m_(m), was_training_(m.is_training()) { m.eval(); }
  ~ModeGuard() { m_.train(was_training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  nn::Module& m_;
  bool was_training_;
};

std::string exportable_ops() {
  std::string s;
  for (const auto& [name, e] : emitters()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

// The IR version that goes with an opset (onnx/docs/Versioning.md).
int64_t ir_version_for(int opset) {
  return opset <= 9 ? 4 : opset == 10 ? 5 : opset == 11 ? 6 : opset <= 14 ? 7 : 8;
}

void value_info(onnx::ValueInfoProto* v, const std::string& name, const Tensor& t,
                bool dynamic_batch) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_type_of(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int d = 0; d < t.ndim(); ++d) {
    auto* dim = shape->add_dim();
    if (d == 0 && dynamic_batch)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(t.size(d));
  }
}

onnx::ModelProto build_model(nn::Module& model, const Shape& input_shape,
                             const OnnxExportOptions& o) {
  CONVKIT_CHECK(o.opset >= 9 && o.opset <= 17, "save_onnx: opset ", o.opset,
                " is not supported (9 to 17)");
  Generator gen(20261207);
  Tensor x = Tensor::randn(input_shape, &gen);
  // The input requires grad so that every tensor computed from it has an autograd node: one
  // that no traced op produced reveals an op without an export rule (instead of being frozen
  // into the file as a constant).
  x.set_requires_grad(true);
  Recorder rec;
  Tensor y;
  {
    ModeGuard eval(model);
    GradModeGuard grad_mode(true);
    detail::TraceGuard trace(&rec);
    y = model(x);
  }

  // The last op that produced each tensor (an op built from other ops reports after them, so
  // it wins over its parts), and the ops the output needs.
  std::unordered_map<const detail::TensorImpl*, size_t> producer;
  for (size_t k = 0; k < rec.ops.size(); ++k) producer[rec.ops[k].output.impl_ptr().get()] = k;
  std::vector<bool> needed(rec.ops.size(), false);
  std::vector<const detail::TensorImpl*> stack{y.impl_ptr().get()};
  while (!stack.empty()) {
    auto it = producer.find(stack.back());
    stack.pop_back();
    if (it == producer.end() || needed[it->second]) continue;
    needed[it->second] = true;
    for (const Tensor& t : rec.ops[it->second].inputs)
      if (t.defined()) stack.push_back(t.impl_ptr().get());
  }

  onnx::ModelProto mp;
  mp.set_ir_version(ir_version_for(o.opset));
  mp.set_producer_name("convkit");
  mp.set_producer_version("0.1.0");
  auto* opset = mp.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  for (const auto& [k, v] : o.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k), p->set_value(v);
  }
  onnx::GraphProto* g = mp.mutable_graph();
  g->set_name(model.type_name());
  value_info(g->add_input(), o.input_name, x, o.dynamic_batch);
  value_info(g->add_output(), o.output_name, y, o.dynamic_batch);

  std::unordered_map<const detail::TensorImpl*, std::string> state;
  for (const auto& [name, t] : model.named_parameters()) state.emplace(t.impl_ptr().get(), name);
  for (const auto& [name, t] : model.named_buffers()) state.emplace(t.impl_ptr().get(), name);

  ExportGraph eg(g, o.opset);
  std::unordered_map<const detail::TensorImpl*, std::string> names{
      {x.impl_ptr().get(), o.input_name}};
  std::unordered_set<std::string> written;
  eg.value_name = [&](const Tensor& t) -> std::string {
    const detail::TensorImpl* key = t.impl_ptr().get();
    if (auto it = names.find(key); it != names.end()) return it->second;
    if (auto it = state.find(key); it != state.end()) {
      if (written.insert(it->second).second) tensor_to_proto(t, it->second, g->add_initializer());
      return it->second;
    }
    CONVKIT_CHECK(t.grad_fn() == nullptr, "save_onnx: the forward pass computes a tensor of shape ",
                  t.shape().to_string(), " with '", t.grad_fn()->op,
                  "', which has no ONNX export rule; exportable ops: ", exportable_ops());
    // Made by the forward itself from no input: a constant.
    return names[key] = eg.constant(t, "tensor");
  };

  for (size_t k = 0; k < rec.ops.size(); ++k) {
    if (!needed[k]) continue;
    const detail::TracedOp& op = rec.ops[k];
    auto e = emitters().find(op.op);
    CONVKIT_CHECK(e != emitters().end(), "save_onnx: op '", op.op,
                  "' has no ONNX export rule; exportable ops: ", exportable_ops());
    const bool is_output = producer[y.impl_ptr().get()] == k;
    const std::string out = is_output ? o.output_name : eg.fresh(op.op);
    eg.set_scope(rec.scopes[k]);
    e->second(op, eg, out);
    names[op.output.impl_ptr().get()] = out;
  }
  // A forward that returns its input, or a parameter, still needs a node making the output.
  eg.set_scope("");
  if (!producer.count(y.impl_ptr().get())) eg.node("Identity", {eg.value_name(y)}, o.output_name);
  return mp;
}

}  // namespace

std::string onnx_bytes(nn::Module& model, const Shape& input_shape,
                       const OnnxExportOptions& options) {
  std::string bytes;
  CONVKIT_CHECK(build_model(model, input_shape, options).SerializeToString(&bytes),
                "save_onnx: protobuf serialization failed (a model over 2 GiB?)");
  return bytes;
}

void save_onnx(nn::Module& model, const Shape& input_shape, const std::string& path,
               const OnnxExportOptions& options) {
  const std::string bytes = onnx_bytes(model, input_shape, options);
  const std::string tmp = path + ".tmp";
  // On failure: the reason (errno) in the message, and no temporary file left behind.
  auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("save_onnx: " + what + ": " + reason);
  };
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f.good()) fail("cannot create '" + tmp + "'");
    f.write(bytes.data(), std::streamsize(bytes.size()));
    f.flush();
    if (!f.good()) fail("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail("cannot rename '" + tmp + "' to '" + path + "'");
}

}  // namespace convkit::io
