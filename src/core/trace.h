#pragma once
// Op tracing: while a tracer is installed on this thread, each op reports its call (op name,
// inputs, output, options) once, from one line at the end of its forward. save_onnx uses it to
// turn one forward pass of any Module into a graph, hand-written blocks (residual adds, channel
// concats) included. With no tracer installed an op pays one thread-local load.
//
// `params` carries the op's options; the exporter (src/io/onnx/export_ops.cpp) reads them as:
//   conv2d                                   Conv2dParams
//   max_pool2d, avg_pool2d                   Pool2dParams
//   batch_norm                               std::vector<double>{eps, momentum, training}
//   local_response_norm                      std::vector<double>{size, alpha, beta, k}
//   pad2d                                    std::vector<double>{left, right, top, bottom, mode,
//   value} relu, sigmoid, tanh, relu6, leaky_relu,  double: the activation's alpha (slope for
//   leaky_relu, elu                                      alpha for elu; unused by the others)
//   add_scalar, mul_scalar, pow              double: the scalar
//   softmax, log_softmax, concat             int64_t: the dim
//   permute                                  std::vector<int64_t>: the order
//   narrow                                   std::vector<int64_t>{dim, start, length}
//   slice                                    std::vector<int64_t>{begin, end} (dim 0)
//   sum                                      std::vector<int64_t>{keepdim, dims...}
//   adaptive_avg_pool2d, upsample_nearest2d  std::vector<int64_t>{h, w}
//   the others (add, sub, mul, div, exp, log, sqrt, abs, linear, matmul, global_avg_pool2d,
//   reshape, clone, to)                      nothing: inputs and output say it all
#include <any>

#include "convkit/autograd.h"

namespace convkit::detail {

struct TracedOp {
  const char* op;
  TensorList inputs;  // as passed; an absent optional input (no bias) is an undefined Tensor
  Tensor output;
  std::any params;
};

class OpTracer {
 public:
  virtual ~OpTracer() = default;
  virtual void record(TracedOp op) = 0;
};

extern thread_local OpTracer* t_op_tracer;

inline bool tracing() { return t_op_tracer != nullptr; }

inline void trace_op(const char* op, const Tensor& output, TensorList inputs,
                     std::any params = {}) {
  t_op_tracer->record({op, std::move(inputs), output, std::move(params)});
}

// Installs `tracer` on this thread for the guard's lifetime (nesting restores the previous one).
class TraceGuard {
 public:
  explicit TraceGuard(OpTracer* tracer) : prev_(t_op_tracer) { t_op_tracer = tracer; }
  ~TraceGuard() { t_op_tracer = prev_; }
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  OpTracer* prev_;
};

}  // namespace convkit::detail
