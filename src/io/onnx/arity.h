#pragma once
// How many inputs and outputs each supported ONNX op takes, checked once at import so that no
// kernel ever reads an input the node does not have. Counts follow https://onnx.ai/onnx/operators/
// for the opsets the importer accepts (7 to 18); where an opset moved an attribute into an input
// the count depends on it.
#include <cstdint>
#include <string>

#include "io/onnx/node.h"

namespace convkit::io::onnx_detail {

struct Arity {
  int min_inputs, max_inputs;  // input slots, empty names included
  int max_outputs;             // at least one output always
  int named = -1;              // the first `named` inputs must be non-empty; -1: min_inputs
  int required_named() const { return named < 0 ? min_inputs : named; }
};
constexpr int kVariadic = 1 << 20;

// The arity of a supported op at `opset`; throws for an op the table does not know (a handler
// without a table row is a bug caught by the OnnxArity test).
Arity arity_of(const std::string& op_type, int64_t opset);

// Throws naming the model file, the node and its op type when `d` has too few or too many inputs
// or outputs, or leaves a required input empty.
void check_arity(const NodeDef& d, int64_t opset, const std::string& source);

}  // namespace convkit::io::onnx_detail
