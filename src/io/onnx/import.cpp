// load_onnx: parse the protobuf, turn initializers into parameters / buffers / constants, compile
// each node into a kernel (node.h), and run the kernels in graph order at every forward.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include "convkit/io/onnx.h"
#include "io/onnx/arity.h"
#include "io/onnx/node.h"
#include "io/onnx/proto.h"

namespace convkit::io {

using namespace onnx_detail;

struct OnnxModel::Impl {
  std::string source;
  int64_t opset = 0;
  std::string producer;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> input_names, output_names;
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::vector<NodeInfo> infos;

  struct Step {
    std::vector<int> in, out;  // slots; -1 for omitted
    Kernel kernel;
    std::vector<int> release;  // slots read for the last time here
    // Scopes (layers) whose last node this is, innermost first: their forward hooks see the
    // node's first output and may replace it (viz hooks layers this way).
    std::vector<nn::Module*> completes;
    std::string where;
  };
  std::vector<Tensor> slots;  // initializers (parameters, buffers, constants); the rest empty
  std::vector<int> input_slots, output_slots;
  std::vector<Step> steps;

  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs, std::vector<Shape>* shapes);
};

std::vector<Tensor> OnnxModel::Impl::run(const std::map<std::string, Tensor>& inputs,
                                         std::vector<Shape>* shapes) {
  std::vector<Tensor> vals = slots;
  for (const auto& [name, t] : inputs) {
    auto it = std::find(input_names.begin(), input_names.end(), name);
    CONVKIT_CHECK(it != input_names.end(), "onnx: ", source, " has no input '", name, "'");
    vals[input_slots[it - input_names.begin()]] = t;
  }
  for (size_t i = 0; i < input_names.size(); ++i)
    CONVKIT_CHECK(vals[input_slots[i]].defined(), "onnx: ", source, ": input '", input_names[i],
                  "' is not given");
  for (const Step& s : steps) {
    TensorList in;
    in.reserve(s.in.size());
    for (int k : s.in) in.push_back(k >= 0 ? vals[k] : Tensor());
    TensorList out;
    try {
      out = s.kernel(in);
    } catch (const Error& e) {
      std::string shapes_in;
      for (const Tensor& t : in)
        shapes_in += (shapes_in.empty() ? "" : ", ") + (t.defined() ? t.shape().to_string() : "-");
      throw Error("onnx: " + source + ": " + s.where + ": " + e.what() + " (inputs " + shapes_in +
                  ")");
    }
    for (size_t k = 0; k < s.out.size() && k < out.size(); ++k)
      if (s.out[k] >= 0) vals[s.out[k]] = out[k];
    if (!s.completes.empty() && !s.out.empty() && s.out[0] >= 0)
      for (nn::Module* scope : s.completes)
        if (scope->has_forward_hooks()) vals[s.out[0]] = (*scope)(vals[s.out[0]]);
    if (shapes) shapes->push_back(out.empty() ? Shape() : out[0].shape());
    for (int k : s.release) vals[k] = Tensor();
  }
  std::vector<Tensor> result;
  for (int k : output_slots) result.push_back(vals[k]);
  return result;
}

OnnxModel::OnnxModel(std::unique_ptr<Impl> impl) : Module("OnnxModel"), impl_(std::move(impl)) {}
OnnxModel::~OnnxModel() = default;

Tensor OnnxModel::forward(const Tensor& x) {
  CONVKIT_CHECK(impl_->input_names.size() == 1, "onnx: ", impl_->source, " has ",
                impl_->input_names.size(), " inputs; call forward with a map of them");
  return impl_->run({{impl_->input_names[0], x}}, nullptr)[0];
}

std::map<std::string, Tensor> OnnxModel::forward(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> outs = impl_->run(inputs, nullptr);
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < outs.size(); ++i) named[impl_->output_names[i]] = outs[i];
  return named;
}

std::vector<Shape> OnnxModel::node_output_shapes(const std::map<std::string, Tensor>& inputs) {
  std::vector<Shape> shapes;
  impl_->run(inputs, &shapes);
  return shapes;
}

const std::vector<std::string>& OnnxModel::input_names() const { return impl_->input_names; }
const std::vector<std::string>& OnnxModel::output_names() const { return impl_->output_names; }
std::vector<int64_t> OnnxModel::input_shape(const std::string& name) const {
  auto it = impl_->input_shapes.find(name);
  return it == impl_->input_shapes.end() ? std::vector<int64_t>{} : it->second;
}
int64_t OnnxModel::opset() const { return impl_->opset; }
std::string OnnxModel::producer() const { return impl_->producer; }
const std::map<std::string, std::string>& OnnxModel::metadata() const { return impl_->metadata; }
const std::vector<OnnxModel::NodeInfo>& OnnxModel::nodes() const { return impl_->infos; }

namespace {

// Splits "layer1.0.conv1.weight" into the module path "layer1.0.conv1" and "weight". Names that
// do not make a valid path (empty segments) are flattened to one root-level name with '_'.
std::pair<std::string, std::string> split_name(const std::string& name) {
  bool valid = !name.empty() && name.front() != '.' && name.back() != '.' &&
               name.find("..") == std::string::npos;
  if (!valid) {
    std::string flat = name.empty() ? "_" : name;
    std::replace(flat.begin(), flat.end(), '.', '_');
    return {"", flat};
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return {"", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// A module of the imported graph (a torchvision module path such as "layer4.1"): it holds the
// initializers named under it, and the graph runner calls it on the output of its last node, so
// forward hooks on it see that layer's output (identity forward).
class OnnxScope : public nn::Module {
 public:
  using nn::Module::Module;
  Tensor forward(const Tensor& x) override { return x; }
};

// The module paths a node belongs to, outermost first, from its name. torch.onnx (1.13+) names
// nodes after the module calls: "/layer4/layer4.1/relu_1/Relu" (a segment is the attribute
// name, or the qualified path for a Sequential's index; a repeated call gets "_1") is in
// layer4, layer4.1 and layer4.1.relu_1; convkit writes qualified segments ("/layer4/layer4.1/
// layer4.1.conv1/Conv"). Other exporters' slash-separated scopes are read the same way. A name
// without '/' is its own one-node scope. Segments that do not make a module name are dropped.
std::vector<std::string> scopes_of(const std::string& node_name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t slash = node_name.find('/', start);
    parts.push_back(node_name.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const bool scoped = parts.size() > 1;
  if (scoped) parts.pop_back();  // the op's own name
  std::vector<std::string> paths;
  std::string cur;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    const bool qualified =
        !cur.empty() && p.size() > cur.size() + 1 && p.compare(0, cur.size() + 1, cur + ".") == 0;
    const std::string next = qualified ? p : cur.empty() ? p : cur + "." + p;
    if (!qualified && p.find('.') != std::string::npos && !cur.empty()) break;
    if (next.front() == '.' || next.back() == '.' || next.find("..") != std::string::npos) break;
    paths.push_back(cur = next);
  }
  return paths;
}

struct Builder {
  OnnxModel& model;
  const std::string& source;
  std::map<std::string, std::shared_ptr<nn::Module>> scopes;  // by dotted path

  nn::Module& scope(const std::string& path, const std::string& type) {
    if (path.empty()) return model;
    auto it = scopes.find(path);
    if (it != scopes.end()) return *it->second;
    auto [parent_path, leaf] = split_name(path);
    nn::Module& parent = scope(parent_path, "Scope");
    auto m = std::make_shared<OnnxScope>(type);
    parent.register_module(leaf, m);
    scopes[path] = m;
    return *m;
  }
};

DType input_dtype_ok(const onnx::ValueInfoProto& v, const std::string& source) {
  if (!v.type().has_tensor_type() || v.type().tensor_type().elem_type() == 0) return DType::f32;
  return dtype_from_onnx(v.type().tensor_type().elem_type(), source + ": input '" + v.name() + "'");
}

std::shared_ptr<OnnxModel> build(const onnx::ModelProto& mp, const std::string& source,
                                 const OnnxLoadOptions& options) {
  auto impl = std::make_unique<OnnxModel::Impl>();
  OnnxModel::Impl& m = *impl;
  m.source = source;
  for (const auto& op : mp.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") m.opset = op.version();
  CONVKIT_CHECK(m.opset != 0, "onnx: ", source, ": the model imports no default-domain opset");
  CONVKIT_CHECK(m.opset >= 7 && m.opset <= 18, "onnx: ", source, ": opset ", m.opset,
                " is not supported (7 to 18)");
  m.producer =
      mp.producer_name() + (mp.producer_version().empty() ? "" : " " + mp.producer_version());
  for (const auto& p : mp.metadata_props()) m.metadata[p.key()] = p.value();
  CONVKIT_CHECK(mp.has_graph(), "onnx: ", source, ": the model has no graph");
  const onnx::GraphProto& g = mp.graph();

  // Initializers, then the Identity-of-initializer copies torch's exporter makes when it
  // deduplicates equal tensors (every fresh BatchNorm's weight is all ones): each becomes its own
  // tensor again, so it trains and checkpoints under its own name.
  std::map<std::string, Tensor> inits;
  std::vector<std::string> init_order;
  for (const auto& t : g.initializer()) {
    CONVKIT_CHECK(!inits.count(t.name()), "onnx: ", source, ": initializer '", t.name(),
                  "' is given twice (the file is malformed)");
    Tensor v = tensor_from_proto(t, source + ": initializer '" + t.name() + "'");
    inits[t.name()] = is_floating(v.dtype()) ? v.to(options.float_dtype) : v;
    init_order.push_back(t.name());
  }
  std::vector<const onnx::NodeProto*> live;
  for (const auto& n : g.node()) {
    if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1 &&
        inits.count(n.input(0)) && !inits.count(n.output(0))) {
      inits[n.output(0)] = inits[n.input(0)].clone();
      init_order.push_back(n.output(0));
      continue;
    }
    live.push_back(&n);
  }

  // Node definitions. Unsupported ops are rejected before anything else happens, all of them in
  // one message (a user converting a model learns the whole gap at once).
  const HandlerMap& hs = handlers();
  std::map<std::string, int> unsupported;  // "Op" or "domain:Op" -> count
  for (const onnx::NodeProto* n : live) {
    const bool default_domain = n->domain().empty() || n->domain() == "ai.onnx";
    if (!default_domain || !hs.count(n->op_type()))
      ++unsupported[default_domain ? n->op_type() : n->domain() + ":" + n->op_type()];
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& [op, count] : unsupported)
      list += (list.empty() ? "" : ", ") + op + " (" + std::to_string(count) + " node" +
              (count == 1 ? "" : "s") + ")";
    throw Error("onnx: " + source + ": " + std::to_string(unsupported.size()) +
                " unsupported op type" + (unsupported.size() == 1 ? "" : "s") + ": " + list +
                "; supported: " + supported_ops());
  }
  std::vector<NodeDef> defs;
  for (size_t k = 0; k < live.size(); ++k) {
    const onnx::NodeProto& n = *live[k];
    NodeDef d;
    d.name = n.name().empty() ? n.op_type() + "_" + std::to_string(k) : n.name();
    d.op_type = n.op_type();
    d.domain = n.domain();
    d.inputs.assign(n.input().begin(), n.input().end());
    d.outputs.assign(n.output().begin(), n.output().end());
    d.attrs = Attrs(source + ": " + d.where());
    check_arity(d, m.opset, source);
    for (const auto& a : n.attribute())
      d.attrs.set(a.name(), attr_from_proto(a, source + ": " + d.where()));
    defs.push_back(std::move(d));
  }

  // Roles of the initializers: parameter > buffer > constant over all their uses.
  std::map<std::string, Role> role;
  std::map<std::string, std::string> first_user;  // op type, for the holder module's type name
  for (const NodeDef& d : defs)
    for (size_t i = 0; i < d.inputs.size(); ++i) {
      auto it = inits.find(d.inputs[i]);
      if (it == inits.end()) continue;
      Role r = initializer_role(d.op_type, i, it->second);
      Role& cur = role.try_emplace(d.inputs[i], Role::constant).first->second;
      cur = std::max(cur, r);
      first_user.try_emplace(d.inputs[i], d.op_type);
    }

  auto model = std::make_shared<OnnxModel>(std::move(impl));
  Builder b{*model, source, {}};
  std::unordered_map<std::string, int> slot_of;
  auto new_slot = [&](const std::string& name, Tensor value) {
    slot_of[name] = int(m.slots.size());
    m.slots.push_back(std::move(value));
    return int(m.slots.size()) - 1;
  };
  std::map<std::string, Tensor> batch_counters;  // BN prefix -> num_batches_tracked
  for (const std::string& name : init_order) {
    Tensor value = inits[name];
    const Role r = role.count(name) ? role[name] : Role::constant;
    if (r == Role::constant) {
      new_slot(name, value);
      continue;
    }
    auto [path, leaf] = split_name(name);
    try {
      nn::Module& holder = b.scope(path, first_user[name]);
      new_slot(name, r == Role::parameter ? holder.register_parameter(leaf, value)
                                          : holder.register_buffer(leaf, value));
    } catch (const Error& e) {
      throw Error("onnx: " + source + ": initializer '" + name +
                  "' cannot be registered: " + e.what());
    }
  }
  // torchvision's BatchNorm state has num_batches_tracked next to the running stats; adding it
  // makes the imported state dict match the PyTorch model's key for key.
  for (const NodeDef& d : defs) {
    if (d.op_type != "BatchNormalization" || d.inputs.size() < 5) continue;
    const std::string& w = d.inputs[1];
    const std::string suffix = ".weight";
    if (w.size() <= suffix.size() ||
        w.compare(w.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string prefix = w.substr(0, w.size() - suffix.size());
    if (d.inputs[3] != prefix + ".running_mean" || role[d.inputs[3]] != Role::buffer ||
        batch_counters.count(prefix))
      continue;
    batch_counters[prefix] =
        b.scope(prefix, "BatchNormalization")
            .register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
  }

  std::set<std::string> init_names(init_order.begin(), init_order.end());
  for (const auto& v : g.input()) {
    if (init_names.count(v.name()))
      continue;  // keep_initializers_as_inputs: a weight, not an input
    input_dtype_ok(v, source);
    m.input_names.push_back(v.name());
    m.input_slots.push_back(new_slot(v.name(), Tensor()));
    std::vector<int64_t> dims;
    if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
      for (const auto& dim : v.type().tensor_type().shape().dim()) {
        CONVKIT_CHECK(!dim.has_dim_value() || dim.dim_value() >= 0, "onnx: ", source, ": input '",
                      v.name(), "' declares dimension ", dims.size(), " as ", dim.dim_value(),
                      "; a dimension is a size >= 0 or a symbolic name (the file is malformed)");
        dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      }
    m.input_shapes[v.name()] = dims;
  }

  // Which node outputs are read later (or are graph outputs): handlers reject unsupported
  // optional outputs (MaxPool's Indices, Dropout's mask) only when something uses them.
  std::set<std::string> read;
  for (const NodeDef& d : defs) read.insert(d.inputs.begin(), d.inputs.end());
  for (const auto& o : g.output()) read.insert(o.name());

  std::vector<int> last_use;
  for (size_t k = 0; k < defs.size(); ++k) {
    const NodeDef& d = defs[k];
    OnnxModel::Impl::Step s;
    s.where = d.where();
    for (const std::string& in : d.inputs) {
      if (in.empty()) {
        s.in.push_back(-1);
        continue;
      }
      auto it = slot_of.find(in);
      CONVKIT_CHECK(
          it != slot_of.end(), "onnx: ", source, ": ", d.where(), " reads '", in,
          "', which is not a graph input, an initializer or an output of an earlier node");
      s.in.push_back(it->second);
    }
    NodeContext ctx{d, m.opset, model.get(), Tensor(), {}, options.float_dtype, source};
    for (const std::string& out : d.outputs)
      ctx.output_used.push_back(!out.empty() && read.count(out));
    if (d.op_type == "BatchNormalization" && d.inputs.size() > 1) {
      auto [path, leaf] = split_name(d.inputs[1]);
      if (role[d.inputs[1]] == Role::parameter && b.scopes.count(path))
        ctx.mode = b.scopes[path].get();
      auto bc = batch_counters.find(path);
      if (bc != batch_counters.end() && leaf == "weight") ctx.num_batches_tracked = bc->second;
    }
    s.kernel = hs.at(d.op_type)(ctx);
    for (const std::string& out : d.outputs) {
      // SSA: a second producer would silently replace the first one's value for later readers.
      CONVKIT_CHECK(
          out.empty() || !slot_of.count(out), "onnx: ", source, ": ", d.where(), " writes '", out,
          "', which is already ",
          init_names.count(out) ? "an initializer" : "a graph input or an earlier node's output",
          "; every tensor must have one producer (the graph is not valid ONNX)");
      s.out.push_back(out.empty() ? -1 : new_slot(out, Tensor()));
    }
    m.infos.push_back({d.name, d.op_type, d.inputs, d.outputs});
    m.steps.push_back(std::move(s));
  }
  for (const auto& o : g.output()) {
    auto it = slot_of.find(o.name());
    CONVKIT_CHECK(it != slot_of.end(), "onnx: ", source, ": graph output '", o.name(),
                  "' is not produced by any node");
    m.output_names.push_back(o.name());
    m.output_slots.push_back(it->second);
  }
  CONVKIT_CHECK(!m.output_slots.empty(), "onnx: ", source, ": the graph has no outputs");

  // Layers: each node scope is a module (an initializer's holder, or a new one named by the op
  // when the scope is one node), completed by its last node. A scope whose name collides with a
  // parameter is left unhookable rather than failing the import.
  std::vector<std::vector<std::string>> node_scopes(defs.size());
  std::map<std::string, size_t> last_node, node_count;
  for (size_t k = 0; k < defs.size(); ++k) {
    node_scopes[k] = scopes_of(defs[k].name);
    for (const std::string& p : node_scopes[k]) last_node[p] = k, ++node_count[p];
  }
  std::map<std::string, nn::Module*> layer;
  for (const auto& [p, k] : last_node) {  // parents sort before their children
    try {
      layer[p] = &b.scope(p, node_count[p] == 1 ? defs[k].op_type : "Scope");
    } catch (const Error&) {
    }
  }
  for (size_t k = 0; k < defs.size(); ++k)
    for (auto p = node_scopes[k].rbegin(); p != node_scopes[k].rend(); ++p)
      if (last_node[*p] == k && layer.count(*p)) m.steps[k].completes.push_back(layer[*p]);

  // Free each intermediate value after its last reader (graph outputs stay).
  last_use.assign(m.slots.size(), -1);
  for (size_t k = 0; k < m.steps.size(); ++k)
    for (int s : m.steps[k].in)
      if (s >= 0) last_use[s] = int(k);
  for (int s : m.output_slots) last_use[s] = -1;
  for (size_t s = 0; s < last_use.size(); ++s)
    if (last_use[s] >= 0) m.steps[last_use[s]].release.push_back(int(s));
  return model;
}

}  // namespace

std::shared_ptr<OnnxModel> load_onnx_bytes(const std::string& bytes, const std::string& source,
                                           const OnnxLoadOptions& options) {
  CONVKIT_CHECK(!bytes.empty(), "onnx: ", source, ": the file is empty");
  onnx::ModelProto mp;
  CONVKIT_CHECK(mp.ParseFromString(bytes), "onnx: ", source,
                ": not a valid ONNX model (the protobuf does not parse; is the file truncated or ",
                "not an .onnx file?)");
  return build(mp, source, options);
}

std::shared_ptr<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options) {
  std::ifstream f(path, std::ios::binary);
  CONVKIT_CHECK(f.good(), "onnx: cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream bytes;
  bytes << f.rdbuf();
  CONVKIT_CHECK(!f.bad(), "onnx: cannot read '", path, "'");
  return load_onnx_bytes(bytes.str(), path, options);
}

}  // namespace convkit::io
