#include "kernels/dnnl/matmul.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
using dims = dnnl::memory::dims;
constexpr auto f32 = dnnl::memory::data_type::f32;

// [batch, rows, cols] of op(x), stored either as is or transposed ([batch, cols, rows]).
dnnl::memory::desc operand_desc(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  dims strides = transposed ? dims{rows * cols, 1, rows} : dims{rows * cols, cols, 1};
  return dnnl::memory::desc({batch, rows, cols}, f32, strides);
}
}  // namespace

bool matmul_accepts(const Tensor& a, const Tensor& b, std::string* why) {
  if (a.dtype() != DType::f32 || b.dtype() != DType::f32) return *why = "not float32", false;
  if (a.numel() == 0 || b.numel() == 0) return *why = "empty operand", false;
  return true;
}

void matmul_forward(Tensor& c, const Tensor& a, const Tensor& b, const ref::MatmulParams& p) {
  const int64_t Ba = p.a_batched ? p.B : 1, Bb = p.b_batched ? p.B : 1;
  dnnl::memory::desc a_md = operand_desc(Ba, p.M, p.K, p.trans_a);
  dnnl::memory::desc b_md = operand_desc(Bb, p.K, p.N, p.trans_b);
  dnnl::memory::desc c_md = operand_desc(p.B, p.M, p.N, false);
  const std::string key = detail::concat("matmul/", p.B, "/", p.M, "/", p.N, "/", p.K, "/",
                                         p.a_batched, p.b_batched, p.trans_a, p.trans_b);
  auto prim = cached<dnnl::matmul>(key, [&] {
    return dnnl::matmul(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), engine()));
  });
  dnnl::memory ma = wrap(a, a_md), mb = wrap(b, b_md), mc = wrap(c, c_md);
  prim->execute(stream(), {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
  stream().wait();
}

}  // namespace convkit::onednn
