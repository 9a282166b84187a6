#include "support/onnx_graph.h"

namespace convkit::test {

namespace {
void to_proto(const Tensor& t, onnx::TensorProto* p) {
  switch (t.dtype()) {
    case DType::f32:
      p->set_data_type(onnx::TensorProto::FLOAT);
      break;
    case DType::f64:
      p->set_data_type(onnx::TensorProto::DOUBLE);
      break;
    case DType::i64:
      p->set_data_type(onnx::TensorProto::INT64);
      break;
    case DType::u8:
      p->set_data_type(onnx::TensorProto::UINT8);
      break;
  }
  for (int d = 0; d < t.ndim(); ++d) p->add_dims(t.size(d));
  p->set_raw_data(t.raw_data(), t.nbytes());
}
}  // namespace

OnnxGraph::OnnxGraph(int opset) {
  model_.set_ir_version(7);
  auto* op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
}

OnnxGraph& OnnxGraph::input(const std::string& name, const std::vector<int64_t>& dims) {
  auto* v = model_.mutable_graph()->add_input();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param("N");
    else
      shape->add_dim()->set_dim_value(d);
  }
  return *this;
}

OnnxGraph& OnnxGraph::output(const std::string& name) {
  model_.mutable_graph()->add_output()->set_name(name);
  return *this;
}

OnnxGraph& OnnxGraph::init(const std::string& name, const Tensor& value) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  to_proto(value, t);
  return *this;
}

OnnxGraph& OnnxGraph::node(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs,
                           const std::vector<std::pair<std::string, OnnxAttr>>& attrs,
                           const std::string& name) {
  auto* n = model_.mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(name.empty() ? op_type + "_" + std::to_string(model_.graph().node_size()) : name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  for (const auto& [key, value] : attrs) {
    auto* a = n->add_attribute();
    a->set_name(key);
    if (auto* i = std::get_if<int64_t>(&value)) {
      a->set_type(onnx::AttributeProto::INT), a->set_i(*i);
    } else if (auto* f = std::get_if<double>(&value)) {
      a->set_type(onnx::AttributeProto::FLOAT), a->set_f(float(*f));
    } else if (auto* s = std::get_if<std::string>(&value)) {
      a->set_type(onnx::AttributeProto::STRING), a->set_s(*s);
    } else if (auto* is = std::get_if<std::vector<int64_t>>(&value)) {
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : *is) a->add_ints(v);
    } else if (auto* fs = std::get_if<std::vector<double>>(&value)) {
      a->set_type(onnx::AttributeProto::FLOATS);
      for (double v : *fs) a->add_floats(float(v));
    } else {
      a->set_type(onnx::AttributeProto::TENSOR);
      to_proto(std::get<Tensor>(value), a->mutable_t());
    }
  }
  return *this;
}

std::string OnnxGraph::bytes() const {
  std::string s;
  model_.SerializeToString(&s);
  return s;
}

std::shared_ptr<io::OnnxModel> OnnxGraph::load(const io::OnnxLoadOptions& options) const {
  return io::load_onnx_bytes(bytes(), "test graph", options);
}

}  // namespace convkit::test
