#include "convkit/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "convkit/autograd.h"
#include "convkit/random.h"
#include "core/trace.h"

namespace convkit {

namespace {
std::shared_ptr<detail::TensorImpl> new_impl(const Shape& shape, DType dtype) {
  for (int64_t d : shape)
    CONVKIT_CHECK(d >= 0, "Tensor: negative dimension in shape ", shape.to_string());
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::make_shared<Storage>(std::size_t(shape.numel()) * dtype_size(dtype));
  impl->shape = shape;
  impl->dtype = dtype;
  return impl;
}

// A tensor sharing `src`'s storage with another shape/offset (no autograd state).
Tensor view_of(const Tensor& src, const Shape& shape, std::size_t extra_offset) {
  // Views that change the shape or offset index plain memory: a laid-out storage is converted
  // first (for every tensor sharing it). Same-shape aliases (detach, reshape to the same shape)
  // keep the layout.
  if (extra_offset != 0 || !(shape == src.shape())) (void)src.raw_data();
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = src.impl().storage;
  impl->offset = src.impl().offset + extra_offset;
  impl->shape = shape;
  impl->dtype = src.dtype();
  return Tensor(impl);
}

template <class F>
void for_each_type(DType t, F&& f) {
  switch (t) {
    case DType::f32:
      f.template operator()<float>();
      break;
    case DType::f64:
      f.template operator()<double>();
      break;
    case DType::i64:
      f.template operator()<int64_t>();
      break;
    case DType::u8:
      f.template operator()<uint8_t>();
      break;
  }
}
}  // namespace

detail::TensorImpl& Tensor::impl() const {
  CONVKIT_CHECK(impl_ != nullptr, "Tensor: operation on an undefined tensor");
  return *impl_;
}

void* Tensor::raw_data() const {
  auto& i = impl();
  return static_cast<char*>(i.storage->data()) + i.offset * dtype_size(i.dtype);
}

std::shared_ptr<const StorageLayout> Tensor::layout() const {
  auto& i = impl();
  return i.storage->layout();
}

void* Tensor::layout_data() const {
  auto& i = impl();
  CONVKIT_CHECK(i.offset == 0, "Tensor::layout_data: a view (offset ", i.offset, ") has no layout");
  return i.storage->layout_data();
}

Tensor Tensor::empty(const Shape& shape, DType dtype) { return Tensor(new_impl(shape, dtype)); }

Tensor Tensor::with_layout(const Shape& shape, DType dtype,
                           std::shared_ptr<const StorageLayout> layout, std::size_t bytes) {
  auto impl = std::make_shared<detail::TensorImpl>();
  const std::size_t plain = std::size_t(shape.numel()) * dtype_size(dtype);
  impl->storage = std::make_shared<Storage>(bytes, std::move(layout), plain);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(double start, double end, double step, DType dtype) {
  CONVKIT_CHECK(step != 0, "arange: step must be nonzero");
  int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  Tensor t = empty({n}, dtype);
  for_each_type(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = T(start + double(i) * step);
  });
  return t;
}

Tensor Tensor::randn(const Shape& shape, Generator* gen, DType dtype) {
  CONVKIT_CHECK(is_floating(dtype), "randn: dtype must be floating, got ", dtype_name(dtype));
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, dtype);
  detail::TensorImpl& i = t.impl();
  (void)i;
  for_each_type(dtype, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      T* p = t.data<T>();
      for (int64_t k = 0; k < t.numel(); ++k) p[k] = T(g.normal());
    }
  });
  return t;
}

Tensor Tensor::uniform(const Shape& shape, double lo, double hi, Generator* gen, DType dtype) {
  CONVKIT_CHECK(is_floating(dtype), "uniform: dtype must be floating, got ", dtype_name(dtype));
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, dtype);
  for_each_type(dtype, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      T* p = t.data<T>();
      for (int64_t k = 0; k < t.numel(); ++k) p[k] = T(g.uniform(lo, hi));
    }
  });
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  CONVKIT_CHECK(int64_t(values.size()) == shape.numel(), "Tensor::from_vector: ", values.size(),
                " values do not fill shape ", shape.to_string(), " (", shape.numel(), " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  // An empty vector's data() may be null, and memcpy from null is undefined even for 0 bytes.
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<uint8_t>&, const Shape&);

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype,
                         std::function<void(void*)> deleter) {
  CONVKIT_CHECK(data != nullptr || shape.numel() == 0, "Tensor::from_blob: null data pointer");
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::make_shared<Storage>(data, std::size_t(shape.numel()) * dtype_size(dtype),
                                            std::move(deleter));
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(impl);
}

double Tensor::item() const {
  CONVKIT_CHECK(numel() == 1, "Tensor::item: tensor has ", numel(), " elements (shape ",
                shape().to_string(), "), expected 1");
  return at({});
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  int64_t flat = 0;
  if (index.size() == 0) {
    CONVKIT_CHECK(numel() == 1, "Tensor::at: empty index on a tensor of shape ",
                  shape().to_string());
  } else {
    CONVKIT_CHECK(int(index.size()) == ndim(), "Tensor::at: index of ", index.size(),
                  " dims for a tensor of shape ", shape().to_string());
    int d = 0;
    for (int64_t i : index) {
      CONVKIT_CHECK(i >= 0 && i < shape()[d], "Tensor::at: index ", i, " out of range for dim ", d,
                    " of shape ", shape().to_string());
      flat = flat * shape()[d] + i;
      ++d;
    }
  }
  double v = 0;
  for_each_type(dtype(), [&]<class T>() { v = double(data<T>()[flat]); });
  return v;
}

std::string Tensor::to_string(int max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << shape().to_string() << ", dtype=" << dtype_name(dtype());
  if (requires_grad()) os << ", requires_grad";
  os << ", data=[";
  int64_t n = std::min<int64_t>(numel(), max_elements);
  for_each_type(dtype(), [&]<class T>() {
    const T* p = data<T>();
    for (int64_t k = 0; k < n; ++k) {
      if (k) os << ", ";
      if constexpr (sizeof(T) == 1)
        os << int(p[k]);
      else
        os << p[k];
    }
  });
  if (n < numel()) os << ", ... (" << numel() << " total)";
  os << "])";
  return os.str();
}

Tensor Tensor::reshape(const Shape& target) const {
  Shape s = target;
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < s.ndim(); ++d) {
    if (s[d] == -1) {
      CONVKIT_CHECK(infer < 0, "reshape: more than one -1 in ", target.to_string());
      infer = d;
    } else {
      CONVKIT_CHECK(s[d] >= 0, "reshape: negative size in ", target.to_string());
      known *= s[d];
    }
  }
  if (infer >= 0) {
    CONVKIT_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape ",
                  shape().to_string(), " into ", target.to_string());
    s[infer] = numel() / known;
  }
  CONVKIT_CHECK(s.numel() == numel(), "reshape: cannot reshape ", shape().to_string(), " (",
                numel(), " elements) into ", target.to_string());
  Tensor out = view_of(*this, s, 0);
  Shape in_shape = shape();
  autograd::record(out, "reshape", {*this}, [in_shape](const Tensor& g, const std::vector<bool>&) {
    return TensorList{g.reshape(in_shape)};
  });
  if (detail::tracing()) detail::trace_op("reshape", out, {*this});
  return out;
}

Tensor Tensor::flatten(int start_dim) const {
  int sd = Shape::wrap_dim(start_dim, std::max(ndim(), 1), "flatten");
  std::vector<int64_t> dims(shape().begin(), shape().begin() + sd);
  int64_t rest = 1;
  for (int d = sd; d < ndim(); ++d) rest *= shape()[d];
  dims.push_back(rest);
  return reshape(Shape(dims));
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  CONVKIT_CHECK(ndim() >= 1, "slice: tensor of shape ", shape().to_string(), " has no dim 0");
  int64_t n = shape()[0];
  CONVKIT_CHECK(0 <= begin && begin <= end && end <= n, "slice: rows [", begin, ", ", end,
                ") out of range for shape ", shape().to_string());
  Shape s = shape();
  s[0] = end - begin;
  int64_t row = n == 0 ? 0 : numel() / n;
  Tensor out = view_of(*this, s, std::size_t(begin * row));
  Shape in_shape = shape();
  autograd::record(
      out, "slice", {*this}, [in_shape, begin, row](const Tensor& g, const std::vector<bool>&) {
        Tensor gi = Tensor::zeros(in_shape, g.dtype());
        std::memcpy(static_cast<char*>(gi.raw_data()) + begin * row * dtype_size(g.dtype()),
                    g.raw_data(), g.nbytes());
        return TensorList{gi};
      });
  if (detail::tracing()) detail::trace_op("slice", out, {*this}, SliceParams{begin, end});
  return out;
}

Tensor Tensor::select(int64_t i) const {
  CONVKIT_CHECK(ndim() >= 1, "select: tensor of shape ", shape().to_string(), " has no dim 0");
  CONVKIT_CHECK(0 <= i && i < shape()[0], "select: index ", i, " out of range for shape ",
                shape().to_string());
  std::vector<int64_t> dims(shape().begin() + 1, shape().end());
  return slice(i, i + 1).reshape(Shape(dims));
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  std::memcpy(out.raw_data(), raw_data(), nbytes());
  autograd::record(out, "clone", {*this},
                   [](const Tensor& g, const std::vector<bool>&) { return TensorList{g}; });
  if (detail::tracing()) detail::trace_op("clone", out, {*this});
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target);
  for_each_type(dtype(), [&]<class S>() {
    const S* src = data<S>();
    for_each_type(target, [&]<class D>() {
      D* dst = out.data<D>();
      for (int64_t k = 0; k < numel(); ++k) dst[k] = static_cast<D>(src[k]);
    });
  });
  if (is_floating(dtype()) && is_floating(target)) {
    DType src_type = dtype();
    autograd::record(out, "to", {*this}, [src_type](const Tensor& g, const std::vector<bool>&) {
      return TensorList{g.to(src_type)};
    });
  }
  if (detail::tracing()) detail::trace_op("to", out, {*this});
  return out;
}

Tensor Tensor::detach() const { return view_of(*this, shape(), 0); }

void Tensor::copy_(const Tensor& src) {
  CONVKIT_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_: source ",
                src.shape().to_string(), " ", dtype_name(src.dtype()),
                " does not match destination ", shape().to_string(), " ", dtype_name(dtype()));
  std::memmove(raw_data(), src.raw_data(), nbytes());
}

void Tensor::fill_(double value) {
  for_each_type(dtype(),
                [&]<class T>() { std::fill_n(data<T>(), numel(), static_cast<T>(value)); });
}

Tensor& Tensor::set_requires_grad(bool on) {
  CONVKIT_CHECK(!on || is_floating(dtype()),
                "set_requires_grad: only floating tensors can require "
                "gradients, this one is ",
                dtype_name(dtype()));
  CONVKIT_CHECK(is_leaf(),
                "set_requires_grad: only leaf tensors can change requires_grad; use "
                "detach() first");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& g) {
  CONVKIT_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient shape ",
                g.defined() ? g.shape().to_string() : "", " does not match tensor shape ",
                shape().to_string());
  impl().grad = g.impl_ptr();
}

void Tensor::zero_grad() { impl().grad.reset(); }

void Tensor::retain_grad() {
  CONVKIT_CHECK(requires_grad(), "retain_grad: tensor does not require grad");
  impl().retains_grad = true;
}

void Tensor::register_hook(GradHook hook) {
  CONVKIT_CHECK(requires_grad(),
                "register_hook: tensor does not require grad, so no gradient "
                "will flow through it");
  impl().hooks.push_back(std::move(hook));
}

void Tensor::backward(const Tensor& grad) const {
  Tensor g = grad;
  if (!g.defined()) {
    CONVKIT_CHECK(numel() == 1, "backward: called without a gradient on a tensor of shape ",
                  shape().to_string(), "; pass the upstream gradient or reduce to a scalar first");
    g = Tensor::ones(shape(), dtype());
  }
  autograd::backward({*this}, {g});
}

std::string shapes_str(std::initializer_list<const Tensor*> ts) {
  std::string s;
  for (const Tensor* t : ts) {
    if (!s.empty()) s += ", ";
    s += t->defined() ? t->shape().to_string() : "undefined";
  }
  return s;
}

}  // namespace convkit
