#pragma once
// A state dict (dotted name -> tensor) from any weights file convkit reads, for starting from
// weights (nn::load_matching, docs/transfer.md).
#include <map>
#include <string>

#include "convkit/tensor.h"

namespace convkit::io {

// By extension:
//  - .safetensors: a convkit weights file or a torchvision-named one (every tensor as stored);
//    a convkit training state ("kind": "train_state") gives its "model." tensors, prefix removed.
//  - .onnx: the graph's initializers under their names (torch.onnx.export keeps the
//    state-dict names, e.g. "layer1.0.conv1.weight"; batch norms folded into convolutions by the
//    exporter, and torch's num_batches_tracked, are absent: nn::load_matching reports them).
// Throws convkit::Error naming the path for another extension and for everything the
// safetensors and ONNX readers reject.
std::map<std::string, Tensor> read_state_dict(const std::string& path);

}  // namespace convkit::io
