#pragma once
// Op tracing: while a tracer is installed on this thread, each op reports its call (op name,
// inputs, output, options) once, from one line at the end of its forward. save_onnx uses it to
// turn one forward pass of any Module into a graph, hand-written blocks (residual adds, channel
// concats) included. With no tracer installed an op pays one thread-local load.
//
// `params` carries the op's options as the op's own parameter struct (Conv2dParams,
// BatchNormParams, ...), which the op's public header names next to its contract; ops whose inputs
// and output say it all trace nothing. Readers any_cast to that struct, never to a positional list.
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
