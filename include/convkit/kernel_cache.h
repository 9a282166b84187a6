#pragma once
// The oneDNN kernel cache (docs/architecture.md, "Kernel cache"): every dnnl kernel builds its
// primitives (descriptors, layouts, reorders) once per problem key — op, prop kind, every shape,
// stride, pad — and keeps them in one least-recently-used cache shared by all ops and threads.
// Many distinct input sizes (detection, a server) therefore cost at most `capacity` entries; an
// evicted entry stays alive while a caller (e.g. an autograd node) still holds it.
//
// Capacity: the environment variable CONVKIT_PRIMITIVE_CACHE (entries, >= 1) read at first use,
// default 1024 (oneDNN's own primitive cache default), or set_kernel_cache_capacity().
// Thread-safe: lookups take one mutex; building a missing entry happens outside it.
#include <cstddef>
#include <cstdint>

namespace convkit {

struct KernelCacheStats {
  uint64_t hits = 0;       // lookups that found their entry
  uint64_t misses = 0;     // lookups that built it (hits + misses = lookups)
  uint64_t evictions = 0;  // entries dropped to stay within capacity
  std::size_t size = 0;    // entries held now (<= capacity; = misses - evictions - cleared)
  std::size_t capacity = 0;
};

// Counters since the process started or the last reset_kernel_cache_stats().
KernelCacheStats kernel_cache_stats();
void reset_kernel_cache_stats();

// Sets the bound, evicting the least recently used entries beyond it. Throws convkit::Error when
// capacity is 0.
void set_kernel_cache_capacity(std::size_t capacity);

// Drops every entry (counters are kept).
void clear_kernel_cache();

}  // namespace convkit
