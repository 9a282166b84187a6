#include "convkit/backend.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/dispatch.h"

namespace convkit {

namespace {
Backend initial_backend() {
  const char* env = std::getenv("CONVKIT_BACKEND");
  if (env && std::strcmp(env, "ref") == 0) return Backend::ref;
  return Backend::dnnl;
}
std::atomic<Backend>& current() {
  static std::atomic<Backend> b{initial_backend()};
  return b;
}
bool verbose_dispatch() {
  static const bool on = [] {
    const char* env = std::getenv("CONVKIT_VERBOSE");
    return env && std::strstr(env, "dispatch") != nullptr;
  }();
  return on;
}
}  // namespace

Backend backend() { return current().load(std::memory_order_relaxed); }
void set_backend(Backend b) { current().store(b); }
const char* backend_name(Backend b) { return b == Backend::ref ? "ref" : "dnnl"; }

namespace {
std::atomic<bool> conv_bf16_on{false};
}
bool conv_bf16() { return conv_bf16_on.load(std::memory_order_relaxed); }
void set_conv_bf16(bool on) { conv_bf16_on.store(on); }

namespace detail {
bool use_dnnl(const char* op, const std::function<bool(std::string*)>& accepts) {
  if (backend() != Backend::dnnl) return false;
  std::string why;
  if (accepts(&why)) return true;
  if (verbose_dispatch())
    std::fprintf(stderr, "convkit dispatch: %s -> ref (%s)\n", op, why.c_str());
  return false;
}
}  // namespace detail

}  // namespace convkit
