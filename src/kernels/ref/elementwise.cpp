#include "kernels/ref/elementwise.h"

#include <vector>

#include "kernels/ref/broadcast.h"

namespace convkit::ref {

template <class T>
void binary_forward(Tensor& y, const Tensor& a, const Tensor& b, BinaryOp op) {
  T* py = y.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  auto apply = [&](auto f) {
    if (a.shape() == b.shape()) {
      const int64_t n = y.numel();
#pragma omp parallel for if (n > 65536)
      for (int64_t i = 0; i < n; ++i) py[i] = f(pa[i], pb[i]);
    } else {
      for_each_broadcast(y.shape(), a.shape(), b.shape(),
                         [&](int64_t o, int64_t ia, int64_t ib) { py[o] = f(pa[ia], pb[ib]); });
    }
  };
  switch (op) {
    case BinaryOp::add:
      apply([](T u, T v) { return u + v; });
      break;
    case BinaryOp::sub:
      apply([](T u, T v) { return u - v; });
      break;
    case BinaryOp::mul:
      apply([](T u, T v) { return u * v; });
      break;
    case BinaryOp::div:
      apply([](T u, T v) { return u / v; });
      break;
  }
}

template <class T>
void reduce_sum(Tensor& y, const Tensor& x) {
  // y has x's ndim with size 1 on reduced dims: walk x, adding into the broadcast position of y.
  std::vector<double> acc(y.numel(), 0.0);  // double accumulators keep float sums accurate
  const T* px = x.data<T>();
  for_each_broadcast(x.shape(), y.shape(), x.shape(),
                     [&](int64_t o, int64_t iy, int64_t) { acc[iy] += double(px[o]); });
  T* py = y.data<T>();
  for (int64_t i = 0; i < y.numel(); ++i) py[i] = T(acc[i]);
}

template void binary_forward<float>(Tensor&, const Tensor&, const Tensor&, BinaryOp);
template void binary_forward<double>(Tensor&, const Tensor&, const Tensor&, BinaryOp);
template void reduce_sum<float>(Tensor&, const Tensor&);
template void reduce_sum<double>(Tensor&, const Tensor&);

}  // namespace convkit::ref
