// Replaying traced ops (plan_replay.h): one entry per op, reading the options struct the op traces
// (its public header names it), like the ONNX exporter's emitters (src/io/onnx/export_ops.cpp).
#include "infer/plan_replay.h"

#include <functional>
#include <map>

#include "convkit/ops.h"

namespace convkit::infer::detail {

namespace {

using Replay = std::function<Tensor(const std::any&, const TensorList&, const Shape&, DType)>;

template <class T>
const T& params(const std::any& a, const char* op) {
  const T* p = std::any_cast<T>(&a);
  CONVKIT_CHECK(p != nullptr, "inference plan: op '", op, "' was traced without its options");
  return *p;
}

std::vector<int> ints(const std::vector<int64_t>& v) {
  return std::vector<int>(v.begin(), v.end());
}

template <Tensor (*F)(const Tensor&)>
Replay unary() {
  return [](const std::any&, const TensorList& in, const Shape&, DType) { return F(in[0]); };
}
template <Tensor (*F)(const Tensor&, const Tensor&)>
Replay binary() {
  return [](const std::any&, const TensorList& in, const Shape&, DType) { return F(in[0], in[1]); };
}

const std::map<std::string, Replay>& table() {
  static const std::map<std::string, Replay> t = {
      {"conv2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return conv2d(in[0], in[1], in[2], params<Conv2dParams>(a, "conv2d"));
       }},
      {"batch_norm",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         Tensor mean = in[3], var = in[4];
         return batch_norm(in[0], in[1], in[2], mean, var,
                           params<BatchNormParams>(a, "batch_norm"));
       }},
      {"relu", unary<relu>()},
      {"relu6", unary<relu6>()},
      {"sigmoid", unary<sigmoid>()},
      {"tanh", unary<tanh>()},
      {"leaky_relu",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return leaky_relu(in[0], params<ActivationParams>(a, "leaky_relu").alpha);
       }},
      {"elu", [](const std::any& a, const TensorList& in, const Shape&,
                 DType) { return elu(in[0], params<ActivationParams>(a, "elu").alpha); }},
      {"softmax",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return softmax(in[0], int(params<SoftmaxParams>(a, "softmax").dim));
       }},
      {"log_softmax",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return log_softmax(in[0], int(params<SoftmaxParams>(a, "log_softmax").dim));
       }},
      {"max_pool2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return max_pool2d(in[0], params<Pool2dParams>(a, "max_pool2d"));
       }},
      {"avg_pool2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return avg_pool2d(in[0], params<Pool2dParams>(a, "avg_pool2d"));
       }},
      {"global_avg_pool2d", unary<global_avg_pool2d>()},
      {"adaptive_avg_pool2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return adaptive_avg_pool2d(in[0], params<AdaptivePool2dParams>(a, "adaptive_avg_pool2d"));
       }},
      {"linear", [](const std::any&, const TensorList& in, const Shape&,
                    DType) { return linear(in[0], in[1], in[2]); }},
      {"matmul", binary<matmul>()},
      {"add", binary<static_cast<Tensor (*)(const Tensor&, const Tensor&)>(add)>()},
      {"sub", binary<sub>()},
      {"mul", binary<static_cast<Tensor (*)(const Tensor&, const Tensor&)>(mul)>()},
      {"div", binary<div>()},
      {"add_scalar", [](const std::any& a, const TensorList& in, const Shape&,
                        DType) { return add(in[0], params<ScalarParams>(a, "add_scalar").value); }},
      {"mul_scalar", [](const std::any& a, const TensorList& in, const Shape&,
                        DType) { return mul(in[0], params<ScalarParams>(a, "mul_scalar").value); }},
      {"pow", [](const std::any& a, const TensorList& in, const Shape&,
                 DType) { return pow(in[0], params<ScalarParams>(a, "pow").value); }},
      {"exp", unary<exp>()},
      {"log", unary<log>()},
      {"sqrt", unary<sqrt>()},
      {"abs", unary<abs>()},
      {"erf", unary<erf>()},
      {"concat", [](const std::any& a, const TensorList& in, const Shape&,
                    DType) { return concat(in, int(params<ConcatParams>(a, "concat").dim)); }},
      {"reshape", [](const std::any&, const TensorList& in, const Shape& out,
                     DType) { return in[0].reshape(out); }},
      {"permute",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return permute(in[0], ints(params<PermuteParams>(a, "permute").order));
       }},
      {"narrow",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         const NarrowParams& p = params<NarrowParams>(a, "narrow");
         return narrow(in[0], int(p.dim), p.start, p.length);
       }},
      {"slice",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         const SliceParams& p = params<SliceParams>(a, "slice");
         return in[0].slice(p.begin, p.end);
       }},
      {"pad2d", [](const std::any& a, const TensorList& in, const Shape&,
                   DType) { return pad2d(in[0], params<Pad2dParams>(a, "pad2d")); }},
      {"upsample_nearest2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         const auto& p = params<UpsampleNearest2dParams>(a, "upsample_nearest2d");
         return upsample_nearest2d(in[0], p.scale_h, p.scale_w);
       }},
      {"upsample_bilinear2d",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return upsample_bilinear2d(in[0],
                                    params<UpsampleBilinear2dParams>(a, "upsample_bilinear2d"));
       }},
      {"local_response_norm",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         return local_response_norm(in[0], params<LrnParams>(a, "local_response_norm"));
       }},
      {"sum",
       [](const std::any& a, const TensorList& in, const Shape&, DType) {
         const SumParams& p = params<SumParams>(a, "sum");
         return sum(in[0], ints(p.dims), p.keepdim);
       }},
      {"clone",
       [](const std::any&, const TensorList& in, const Shape&, DType) { return in[0].clone(); }},
      {"to", [](const std::any&, const TensorList& in, const Shape&,
                DType dtype) { return in[0].to(dtype); }},
  };
  return t;
}

}  // namespace

bool replayable(const std::string& op) { return table().count(op) != 0; }

Tensor replay(const std::string& op, const std::any& params, const TensorList& inputs,
              const Shape& out_shape, DType out_dtype) {
  auto it = table().find(op);
  CONVKIT_CHECK(it != table().end(), "inference plan: op '", op, "' cannot be replayed");
  return it->second(params, inputs, out_shape, out_dtype);
}

}  // namespace convkit::infer::detail
