#pragma once
// Elementwise arithmetic with NumPy broadcasting, and unary math.
//
// Broadcasting: shapes are aligned at the last dimension; each pair of sizes must be equal or one
// of them 1; the output takes the larger. Gradients are summed back over broadcast dimensions. Both
// operands must have the same floating dtype. Throws convkit::Error naming the op and shapes.
#include "convkit/tensor.h"

namespace convkit {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// Scalar forms: a op s, elementwise. add, mul and pow trace ScalarParams ("add_scalar",
// "mul_scalar", "pow"); the other ops here trace nothing (inputs and output say it all).
struct ScalarParams {
  double value = 0;  // the scalar operand (the exponent for pow)
};
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);  // natural log; log of values <= 0 gives -inf/nan as in IEEE
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);  // gradient sign(a), 0 at 0
Tensor pow(const Tensor& a, double exponent);
// The Gauss error function, elementwise (std::erf); gradient 2/sqrt(pi) * exp(-a^2).
Tensor erf(const Tensor& a);

// Sums `g` over the dimensions along which `shape` was broadcast to g's shape (the adjoint of
// broadcasting). shape must broadcast to g.shape().
Tensor sum_to(const Tensor& g, const Shape& shape);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return add(neg(a), s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }

}  // namespace convkit
