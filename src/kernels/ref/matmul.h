#pragma once
// Reference matrix-product kernels: batched GEMM and the fully connected layer.
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit::ref {

// c[b] = op(a[b]) @ op(b[b]) for b in [0, B): op(a) is [M,K], op(b) is [K,N], c is [B,M,N].
// A non-batched operand (a_batched false) holds one matrix shared by every batch.
// A transposed operand is stored as the transpose of op(x): a as [K,M], b as [N,K].
struct MatmulParams {
  int64_t B = 1, M = 0, N = 0, K = 0;
  bool a_batched = false, b_batched = false;
  bool trans_a = false, trans_b = false;
};

template <class T>
void matmul_forward(Tensor& c, const Tensor& a, const Tensor& b, const MatmulParams& p);

// Fully connected layer, PyTorch layout: x [N,IC], w [OC,IC], bias [OC] or undefined, y [N,OC].
//   forward:          y[n,oc]  = sum_ic x[n,ic] w[oc,ic] + bias[oc]
//   backward data:    dx[n,ic] = sum_oc dy[n,oc] w[oc,ic]
//   backward weights: dw[oc,ic] = sum_n dy[n,oc] x[n,ic];  dbias[oc] = sum_n dy[n,oc]
template <class T>
void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias);
template <class T>
void linear_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w);
// dbias may be undefined (layer without bias).
template <class T>
void linear_backward_weights(Tensor& dw, Tensor& dbias, const Tensor& dy, const Tensor& x);

}  // namespace convkit::ref
