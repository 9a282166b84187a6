#pragma once
// The feature extractor of neural style transfer: the convolutional trunk of a VGG network
// (torchvision's `features`: 3x3 convolutions with ReLU, 2x2/2 max pooling) read out at named
// layers.
//
// Layer names are Gatys et al.'s: conv<b>_<i>, relu<b>_<i> for the i-th convolution of block b
// (blocks counted from 1, separated by the poolings) and pool<b>; for VGG-19 relu4_2 is
// features.22 and relu5_1 features.29. torchvision's index ("features.22" or "22") works too.
// The trunk takes images standardized with ImageNet's mean and std (as torchvision's weights
// expect); features() does that itself from pixels in [0, 1].
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convkit/autograd.h"
#include "convkit/nn/layers.h"

namespace convkit::style {

class VggFeatures {
 public:
  // Any VGG-style trunk: a Sequential of Conv2d, ReLU and MaxPool2d / AvgPool2d layers (its
  // parameters are frozen here). Throws naming the first layer of another type.
  explicit VggFeatures(std::shared_ptr<nn::Sequential> trunk);
  // VGG-11/13/16/19's trunk (depth) with torchvision's random init drawn from `seed`: the offline
  // default when no weights are given (docs/style.md says why random filters still transfer
  // texture).
  static VggFeatures random(int64_t depth, uint64_t seed);
  // A VGG trunk from a weights file with torchvision's names (features.<i>.weight and .bias;
  // classifier tensors are ignored): .safetensors, a convkit checkpoint or .onnx
  // (io::read_state_dict). The depth is the one whose convolution keys the file has. Throws
  // convkit::Error naming the file and the first missing tensor, or the tensor whose shape is not
  // VGG's, with both shapes.
  static VggFeatures from_file(const std::string& path);

  int64_t num_convs() const { return num_convs_; }  // 16 for VGG-19
  // Index in the trunk of a layer name (above); throws naming the layer and the valid names.
  int64_t index_of(const std::string& layer) const;
  const std::string& name_of(int64_t index) const { return names_.at(size_t(index)); }
  // 2x2 poolings applied before the output of layer `index`: its maps are (size >> that) wide.
  int64_t poolings_before(int64_t index) const;

  // Outputs of the layers `indices` (any order, repeats allowed) for pixels x [N, 3, H, W] in
  // [0, 1], standardized first; the trunk runs only up to the deepest requested layer.
  // Differentiable in x. H and W must be at least 2^poolings_before(deepest).
  TensorList features(const Tensor& x, const std::vector<int64_t>& indices);

 private:
  int64_t num_convs_ = 0;
  std::shared_ptr<nn::Sequential> trunk_;
  std::vector<std::shared_ptr<nn::Module>> layers_;
  std::vector<std::string> names_;  // Gatys et al.'s name of each layer
};

}  // namespace convkit::style
