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

}  // namespace convkit
