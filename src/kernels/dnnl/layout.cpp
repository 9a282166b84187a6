#include "kernels/dnnl/layout.h"

#include <sstream>

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
// Plain row-major of t's shape; 2-D [N, C] and 4-D tensors are the common cases.
dnnl::memory::desc plain_of(const Shape& s) { return plain_desc(s); }
}  // namespace

void DnnlLayout::to_plain(const void* src, void* dst) const {
  dnnl::memory from(md_, engine(), const_cast<void*>(src));
  dnnl::memory to(plain_of(shape_), engine(), dst);
  // oneDNN's primitive cache makes re-creating the same reorder cheap.
  dnnl::reorder(from, to).execute(stream(), from, to);
  stream().wait();
}

dnnl::memory::desc desc_of(const Tensor& t) {
  auto layout = t.layout();
  if (auto* d = dynamic_cast<const DnnlLayout*>(layout.get())) return d->desc();
  return plain_of(t.shape());
}

dnnl::memory memory_of(const Tensor& t) {
  auto layout = t.layout();
  if (auto* d = dynamic_cast<const DnnlLayout*>(layout.get()))
    return dnnl::memory(d->desc(), engine(), t.layout_data());
  return dnnl::memory(plain_of(t.shape()), engine(), t.raw_data());
}

dnnl::memory memory_in(const Tensor& t, const dnnl::memory::desc& want, Tensor& keep) {
  dnnl::memory have = memory_of(t);
  if (have.get_desc() == want) return have;
  keep = Tensor::empty({int64_t(want.get_size() / sizeof(float)) + 1});
  dnnl::memory m(want, engine(), keep.raw_data());
  dnnl::reorder(have, m).execute(stream(), have, m);
  return m;
}

Tensor new_tensor(const Shape& shape, const dnnl::memory::desc& md) {
  if (md == plain_of(shape)) return Tensor::empty(shape);
  return Tensor::with_layout(shape, DType::f32, std::make_shared<DnnlLayout>(md, shape),
                             md.get_size());
}

std::string desc_key(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::ostringstream k;
  k << "d";
  for (int i = 0; i < d.ndims; ++i) k << d.dims[i] << 'x';
  k << "p";
  for (int i = 0; i < d.ndims; ++i) k << d.padded_dims[i] << 'x';
  k << 'f' << int(d.format_kind) << 't' << int(d.data_type);
  if (d.format_kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    k << 's';
    for (int i = 0; i < d.ndims; ++i) k << b.strides[i] << ',';
    k << 'b';
    for (int i = 0; i < b.inner_nblks; ++i) k << b.inner_idxs[i] << ':' << b.inner_blks[i] << ',';
  }
  k << 'o' << d.offset0 << 'e' << int(d.extra.flags);
  return k.str();
}

}  // namespace convkit::onednn
