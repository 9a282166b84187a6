#include "kernels/dnnl/context.h"

namespace convkit::onednn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

dnnl::memory::dims dims_of(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::memory::desc plain_desc(const Shape& s) {
  using tag = dnnl::memory::format_tag;
  static const tag tags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  // A 0-d tensor is described as one element of rank 1.
  dnnl::memory::dims d = s.ndim() == 0 ? dnnl::memory::dims(1, 1) : dims_of(s);
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, tags[d.size()]);
}

dnnl::memory wrap(const Tensor& t) { return wrap(t, plain_desc(t.shape())); }

dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& md) {
  return dnnl::memory(md, engine(), t.raw_data());
}

dnnl::memory to_layout(const dnnl::memory& src, const dnnl::memory::desc& want) {
  if (src.get_desc() == want) return src;
  dnnl::memory dst(want, engine());
  reorder(src, dst);
  return dst;
}

void reorder(const dnnl::memory& src, const dnnl::memory& dst) {
  if (src.get_data_handle() == dst.get_data_handle() && src.get_desc() == dst.get_desc()) return;
  dnnl::reorder(src, dst).execute(stream(), const_cast<dnnl::memory&>(src),
                                  const_cast<dnnl::memory&>(dst));
  stream().wait();
}

}  // namespace convkit::onednn
