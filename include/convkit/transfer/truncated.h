#pragma once
// A pretrained base cut at a named layer (docs/transfer.md): the feature extractor of transfer
// learning. forward(x) runs the base's own forward until the module at `layer` (a dotted path,
// torchvision's names: "layer3", "avgpool", "features.10") returns, and returns that module's
// output; the layers after it never run. With `pool`, a feature map [C, H, W] at the cut is
// averaged over its positions into [C] (a global average pool, as the base's own head and the
// usual transfer recipe do): a cut below the top is then a small feature vector, not a flattened
// map whose linear head would need a learning rate of its own.
#include <memory>
#include <string>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::transfer {

class Truncated : public nn::Module {
 public:
  // `example_shape`: one input example [C, H, W]; a probe forward on zeros of [1, C, H, W] (eval
  // mode, no grad) finds which of the base's top-level children run before the cut. Those are
  // registered under their own names, so parameter names stay the base's
  // ("layer1.0.conv1.weight"); children that run only after the cut (the old classifier) are left
  // out. Throws naming the layer and the base's modules when `layer` is not one of them, or when
  // it does not run in the base's forward; and when the base holds parameters of its own (not in
  // a child), which a cut could not keep.
  // With `pool`, throws naming the layer and its output shape when that is not a feature map.
  Truncated(std::shared_ptr<nn::Module> base, std::string layer, const Shape& example_shape,
            bool pool = false);
  // [N, C, H, W] -> the cut layer's output (e.g. [N, 64] after global pooling), or its [N, C]
  // average with `pool`.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "cut at " + layer_ + (pool_ ? ", pooled" : ""); }

  const std::string& layer() const { return layer_; }
  bool pooled() const { return pool_; }
  // The cut layer's output shape for one example (from the probe), e.g. [64] or [64, 8, 8]; [C]
  // when pooled.
  const Shape& feature_shape() const { return feature_shape_; }
  // The registered top-level children that hold parameters, in the order the forward calls them
  // (the "blocks" that fine-tuning unfreezes from the top).
  const std::vector<std::string>& blocks() const { return blocks_; }

 private:
  std::shared_ptr<nn::Module> base_;
  std::string layer_;
  bool pool_;
  Shape feature_shape_;
  std::vector<std::string> blocks_;
};

}  // namespace convkit::transfer
