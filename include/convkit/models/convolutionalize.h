#pragma once
// The convolutional form of a classifier's dense head (OverFeat, Sermanet et al. 2014; Long et al.
// 2015): the first dense layer, which reads the C x h x w feature maps of a training-size image,
// becomes an h x w convolution with C input channels, and every later dense layer a 1x1
// convolution, with the same weights. On a larger image the result slides the classifier over it
// in one pass: [N, classes, H', W'] scores, position (i, j) being the window whose top-left corner
// is at (i * S, j * S) in the image, S the total stride of the features.
//
// Exactness: at the training size the map is 1x1 and equals the model's output. On a larger image
// position (i, j) equals the model's output on that crop exactly when the features use no
// padding (with padding, a crop's border sees zeros where the large image has pixels).
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

// `model` is either
//  - torchvision's layout: children "features" and "classifier", optionally "avgpool" between
//    them, whose forward is classifier(flatten(avgpool(features(x)))) (AlexNet, ZFNet, VGG), or
//  - a Sequential with one Flatten child: the layers before it are the features (LeNet-5).
// image_size: the (square) input size the model was trained on; the feature-map size is found by
// running the features once on zeros at that size. An avgpool must be the identity there
// (AdaptiveAvgPool2d whose output size equals the feature maps').
// The head may hold Linear, Flatten and element-wise layers (ReLU, Dropout, ...). Returns a
// Sequential of "features" (the same module: weights are shared with `model`) and "head" (new
// convolutions holding copies of the dense weights). Throws naming the layer that does not fit:
// a global-pooling head (already fully convolutional), an avgpool that is not the identity at
// image_size, or a head layer that is neither dense nor element-wise.
std::shared_ptr<nn::Sequential> convolutionalize(nn::Module& model, int64_t image_size);

}  // namespace convkit::models
