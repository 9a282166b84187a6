#pragma once
// Kernel backend selection (docs/architecture.md, "Dispatch").
//
// dnnl (default): oneDNN primitives where one accepts the problem, reference kernels otherwise.
// ref: plain-loop reference kernels everywhere. The environment variable CONVKIT_BACKEND=ref|dnnl
// sets the initial value; CONVKIT_VERBOSE=dispatch prints every time a dnnl kernel declines a
// problem and why.
namespace convkit {

enum class Backend { dnnl, ref };

Backend backend();
void set_backend(Backend b);
const char* backend_name(Backend b);

// Sets the backend for a scope and restores the previous one (used by tests).
class BackendGuard {
 public:
  explicit BackendGuard(Backend b) : prev_(backend()) { set_backend(b); }
  ~BackendGuard() { set_backend(prev_); }
  BackendGuard(const BackendGuard&) = delete;
  BackendGuard& operator=(const BackendGuard&) = delete;

 private:
  Backend prev_;
};

// Mixed-precision convolutions for training (docs/performance.md, "bfloat16 training"): when on,
// the oneDNN convolutions (forward, backward data, backward weights) read their inputs, weights and
// output gradients in bfloat16 (AVX-512 BF16) and accumulate and write float32. Every tensor, the
// weights (the master copy) and the optimizer stay float32; only the products are rounded. Off by
// default; the reference kernels ignore it.
bool conv_bf16();
void set_conv_bf16(bool on);

class ConvBf16Guard {
 public:
  explicit ConvBf16Guard(bool on) : prev_(conv_bf16()) { set_conv_bf16(on); }
  ~ConvBf16Guard() { set_conv_bf16(prev_); }
  ConvBf16Guard(const ConvBf16Guard&) = delete;
  ConvBf16Guard& operator=(const ConvBf16Guard&) = delete;

 private:
  bool prev_;
};

}  // namespace convkit
