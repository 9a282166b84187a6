#include "kernels/dnnl/layout_choice.h"

#include <string>

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

std::vector<dnnl::memory::desc> layout_candidates(const dnnl::memory::desc& plain) {
  using tag = dnnl::memory::format_tag;
  std::vector<dnnl::memory::desc> r = {plain};
  if (plain.dims().size() == 4)
    for (tag t : {tag::nChw16c, tag::nChw8c, tag::nhwc})
      r.emplace_back(plain.dims(), dnnl::memory::data_type::f32, t);
  return r;
}

bool is_jit(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).find("jit") != std::string::npos;
}

dnnl::memory output_in(const dnnl::memory& plain, const dnnl::memory::desc& md) {
  return plain.get_desc() == md ? plain : dnnl::memory(md, engine());
}

}  // namespace convkit::onednn
