#pragma once
// The losses of neural style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using
// Convolutional Neural Networks", CVPR 2016), built from differentiable ops: their gradients with
// respect to the features (and so to the image) come from autograd. Float32 or float64.
#include "convkit/tensor.h"

namespace convkit::style {

// Gram matrix of feature maps, normalised by the number of elements per image (as PyTorch's
// neural-style tutorial does, so layers of any size weigh alike):
//   F [N, C, H, W] -> G [N, C, C],  G[n, i, j] = sum_hw F[n, i, h, w] F[n, j, h, w] / (C H W).
// Throws convkit::Error ("gram_matrix" and the shape) unless F has 4 dims and no empty one.
Tensor gram_matrix(const Tensor& features);

// Content loss: mean((F - target)^2) over every element (Gatys et al. eq. 1 up to a constant).
// Throws naming both shapes when they differ.
Tensor content_loss(const Tensor& features, const Tensor& target);

// Style loss of one layer: mean((gram_matrix(F) - target_gram)^2) (Gatys et al. eq. 4 up to the
// normalisation). target_gram [N, C, C] or [1, C, C] (shared by the batch). Throws naming the
// shapes when the channel counts differ.
Tensor style_loss(const Tensor& features, const Tensor& target_gram);

// Total variation of images x [N, C, H, W] (a smoothness prior; Mahendran & Vedaldi 2015, beta =
// 2):
//   mean_{n,c,h<H-1,w} (x[h+1, w] - x[h, w])^2 + mean_{n,c,h,w<W-1} (x[h, w+1] - x[h, w])^2.
// Throws naming the shape unless x has 4 dims and H, W >= 2.
Tensor total_variation(const Tensor& x);

}  // namespace convkit::style
