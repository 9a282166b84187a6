#pragma once
// Tensor: a ref-counted handle to a contiguous, row-major block of one dtype, plus autograd state.
//
// Every tensor is contiguous. Views (reshape, flatten, slice along dim 0, select along dim 0) share
// storage with an offset; every other layout change (transpose, permute) copies. That keeps every
// kernel's indexing plain. Storage is 64-byte aligned. A seam for oneDNN's blocked formats is
// described in docs/architecture.md ("Layouts").
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "convkit/dtype.h"
#include "convkit/error.h"
#include "convkit/shape.h"

namespace convkit {

class Generator;
class Tensor;
// What Tensor::slice traces (core/trace.h): rows [begin, end) along dim 0.
struct SliceParams {
  int64_t begin = 0, end = 0;
};
namespace autograd {
struct Node;
}

// A backend's own arrangement of one whole tensor's elements (oneDNN's blocked formats such as
// nChw16c). Kernels that understand it read and write it directly; everyone else gets the plain
// row-major copy that to_plain() makes on first access (docs/architecture.md, "Layouts").
class StorageLayout {
 public:
  virtual ~StorageLayout() = default;
  // Writes the elements held in `src` (this layout) to `dst` in plain row-major order.
  virtual void to_plain(const void* src, void* dst) const = 0;
};

// Owns one aligned allocation, or wraps a caller's buffer (then `deleter` may release it).
class Storage {
 public:
  explicit Storage(std::size_t bytes);
  Storage(void* external, std::size_t bytes, std::function<void(void*)> deleter);
  // `bytes` in `layout`; the plain tensor it holds has `plain_bytes`.
  Storage(std::size_t bytes, std::shared_ptr<const StorageLayout> layout, std::size_t plain_bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  // The bytes in plain row-major order: a storage with a layout is converted (once, in place for
  // every tensor sharing it) before its address is returned.
  void* data() const {
    if (laid_out_.load(std::memory_order_acquire)) make_plain();
    return data_;
  }
  std::size_t bytes() const { return bytes_; }
  // The layout, or null when plain. layout_data() is the raw buffer in that layout.
  std::shared_ptr<const StorageLayout> layout() const;
  void* layout_data() const { return data_; }

 private:
  void make_plain() const;
  void release();

  mutable void* data_ = nullptr;
  mutable std::size_t bytes_ = 0;
  mutable std::size_t alloc_ = 0;  // the block's size as allocated (its cache class); owned only
  bool owned_ = true;
  std::function<void(void*)> deleter_;
  mutable std::atomic<bool> laid_out_{false};
  mutable std::mutex layout_mu_;
  mutable std::shared_ptr<const StorageLayout> layout_;
  std::size_t plain_bytes_ = 0;
};

using GradHook = std::function<Tensor(const Tensor& grad)>;

namespace detail {
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::size_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::f32;
  // autograd state
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves and for tensors outside a graph
  std::shared_ptr<TensorImpl> grad;
  std::vector<GradHook> hooks;
};
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() == false
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  // [start, end) with step; dtype f32 unless given.
  static Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::f32);
  static Tensor arange(int64_t n, DType dtype = DType::f32) {
    return arange(0, double(n), 1, dtype);
  }
  // Standard normal / uniform [lo, hi) samples from `gen` (default_generator() when null).
  static Tensor randn(const Shape& shape, Generator* gen = nullptr, DType dtype = DType::f32);
  static Tensor uniform(const Shape& shape, double lo, double hi, Generator* gen = nullptr,
                        DType dtype = DType::f32);
  // Copies values; values.size() must equal shape.numel().
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  // Wraps a caller's buffer without copying. The buffer must outlive every tensor sharing it unless
  // `deleter` owns it. 64-byte alignment is recommended (oneDNN kernels run faster).
  static Tensor from_blob(void* data, const Shape& shape, DType dtype,
                          std::function<void(void*)> deleter = nullptr);
  // A tensor whose `bytes` of storage hold its elements in a backend layout (see StorageLayout).
  static Tensor with_layout(const Shape& shape, DType dtype,
                            std::shared_ptr<const StorageLayout> layout, std::size_t bytes);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int ndim() const { return shape().ndim(); }
  int64_t size(int d) const { return shape().dim(d); }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return impl().dtype; }
  std::size_t nbytes() const { return numel() * dtype_size(dtype()); }

  // ---- element access ----
  // Typed pointer to the first element; throws when T does not match dtype().
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  void* raw_data() const;
  // The backend layout its storage is in, or null for plain tensors (most). Kernels that
  // understand it read layout_data() instead of raw_data() and skip the conversion.
  std::shared_ptr<const StorageLayout> layout() const;
  void* layout_data() const;
  // Value of a one-element tensor, converted to double.
  double item() const;
  // Element at a full index, converted to double (slow; for tests and debugging).
  double at(std::initializer_list<int64_t> index) const;
  std::string to_string(int max_elements = 64) const;

  // ---- views (share storage; autograd-aware) ----
  Tensor reshape(const Shape& shape) const;        // one dim may be -1
  Tensor flatten(int start_dim = 1) const;         // [N, C, H, W] -> [N, C*H*W] by default
  Tensor slice(int64_t begin, int64_t end) const;  // rows [begin, end) along dim 0
  Tensor select(int64_t i) const;                  // row i along dim 0, dim 0 removed

  // ---- copies ----
  Tensor clone() const;           // new storage, autograd-aware
  Tensor to(DType dtype) const;   // converts; float<->float conversions are autograd-aware
  Tensor detach() const;          // shares storage, outside any graph
  void copy_(const Tensor& src);  // in place, same shape and dtype; not recorded by autograd
  void fill_(double value);       // in place; not recorded by autograd

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as a variable to differentiate with respect to. Returns *this.
  Tensor& set_requires_grad(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  // Accumulated gradient (undefined until a backward pass reaches this tensor).
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the gradient (like set_to_none=True)
  // Keep the gradient of a non-leaf in .grad() during backward (as torch's retain_grad()).
  void retain_grad();
  // Called with the gradient flowing into this tensor, once per backward pass, after all of it has
  // been summed; a hook that returns a defined tensor replaces the gradient (same shape).
  void register_hook(GradHook hook);
  // Backpropagates from this tensor. With no argument it must hold one element (grad = 1).
  void backward(const Tensor& grad = Tensor()) const;

  detail::TensorImpl& impl() const;
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }
  bool same_as(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

template <class T>
T* Tensor::data() {
  CONVKIT_CHECK(dtype_of<T>() == dtype(), "Tensor::data: tensor has dtype ", dtype_name(dtype()),
                " but ", dtype_name(dtype_of<T>()), " was requested");
  return static_cast<T*>(raw_data());
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

// Tensors that must agree on shape use this to build the message of a mismatch.
std::string shapes_str(std::initializer_list<const Tensor*> ts);

}  // namespace convkit
