#pragma once
// Picking the memory layout a oneDNN primitive runs in when our tensors are plain (NCHW).
//
// Some oneDNN 2.6 primitives have JIT kernels only for blocked or channels-last layouts: LRN's
// backward on NCHW falls back to oneDNN's reference loop, and batch norm on NCHW runs a generic
// C++ kernel (ncsp_bnorm). Reordering in and out of nChw16c and running the JIT kernel is
// faster (measurements in docs/derivatives/norm.md, "Kernels and layouts"). Inputs that already
// come in a oneDNN layout (kernels/dnnl/layout.h) run in it and skip the choice.
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace convkit::onednn {

// `plain` first, then (for 4-D) the same dims in nChw16c, nChw8c and nhwc.
std::vector<dnnl::memory::desc> layout_candidates(const dnnl::memory::desc& plain);

// True when oneDNN picked a JIT-generated implementation for pd.
bool is_jit(const dnnl::primitive_desc_base& pd);

// build(md) for the first candidate layout whose result is fast(); build(plain) when none is.
template <class T>
T first_fast_layout(const dnnl::memory::desc& plain,
                    const std::function<T(const dnnl::memory::desc&)>& build,
                    const std::function<bool(const T&)>& fast) {
  for (const dnnl::memory::desc& md : layout_candidates(plain)) {
    T r = build(md);
    if (fast(r)) return r;
  }
  return build(plain);
}

// Where a primitive running in layout md should write an output whose home is `plain`: plain
// itself when the layouts agree, else a scratch buffer (then reorder(scratch, plain) after).
dnnl::memory output_in(const dnnl::memory& plain, const dnnl::memory::desc& md);

}  // namespace convkit::onednn
