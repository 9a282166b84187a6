// The bounded oneDNN kernel cache (include/convkit/kernel_cache.h) and concurrent forwards.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "convkit/convkit.h"

using namespace convkit;

namespace {

// Restores the cache's capacity after a test shrinks it.
struct CapacityGuard {
  std::size_t prev = kernel_cache_stats().capacity;
  ~CapacityGuard() { set_kernel_cache_capacity(prev); }
};

// conv -> batch norm (eval) -> relu -> max pool -> global average -> linear: one entry per op kind
// per input size in the cache.
struct SmallCnn {
  Generator gen{7};
  Tensor w = Tensor::randn({4, 3, 3, 3}, &gen), b = Tensor::randn({4}, &gen);
  Tensor gamma = Tensor::randn({4}, &gen), beta = Tensor::randn({4}, &gen);
  Tensor mean = Tensor::randn({4}, &gen), var = Tensor::ones({4});
  Tensor fc = Tensor::randn({5, 4}, &gen), fc_b = Tensor::randn({5}, &gen);

  Tensor operator()(const Tensor& x) {
    Tensor h = conv2d(x, w, b, Conv2dParams().set_padding(1));
    h = relu(batch_norm(h, gamma, beta, mean, var, /*training=*/false));
    h = global_avg_pool2d(max_pool2d(h, 2));
    return linear(h.reshape({h.size(0), 4}), fc, fc_b);
  }
};

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace

TEST(KernelCache, StaysWithinItsBoundOver200InputSizesAndCountersAddUp) {
  BackendGuard dnnl(Backend::dnnl);  // the cache only exists for the dnnl kernels
  CapacityGuard restore;
  NoGradGuard no_grad;
  SmallCnn net;
  clear_kernel_cache();
  set_kernel_cache_capacity(16);
  reset_kernel_cache_stats();
  int sizes = 0;
  int64_t last_h = 0, last_w = 0;
  for (int64_t h = 8; h < 30 && sizes < 200; ++h)
    for (int64_t w = 8; w < 30 && sizes < 200; ++w, ++sizes) {
      net(Tensor::randn({1, 3, h, w}));
      last_h = h, last_w = w;
      const KernelCacheStats s = kernel_cache_stats();
      ASSERT_LE(s.size, 16u) << "after input " << h << "x" << w;
      ASSERT_EQ(s.size, s.misses - s.evictions) << "after input " << h << "x" << w;
    }
  ASSERT_EQ(sizes, 200);
  const KernelCacheStats after = kernel_cache_stats();
  EXPECT_EQ(after.capacity, 16u);
  EXPECT_GE(after.misses, 200u);  // every new size builds at least the convolution
  EXPECT_GT(after.evictions, 0u);

  // The last input size again: its entries are the most recent ones, so only hits.
  net(Tensor::randn({1, 3, last_h, last_w}));
  const KernelCacheStats again = kernel_cache_stats();
  EXPECT_EQ(again.misses, after.misses);
  EXPECT_GT(again.hits, after.hits);

  // Shrinking evicts down to the new bound at once.
  set_kernel_cache_capacity(2);
  EXPECT_EQ(kernel_cache_stats().size, 2u);
  EXPECT_THROW(set_kernel_cache_capacity(0), Error);
}

TEST(KernelCache, FourThreadsGiveTheSerialResultsBitForBit) {
  std::shared_ptr<nn::Module> model = models::create_model("resnet20", {3, 10, 32});
  model->eval();
  std::vector<Tensor> inputs;
  Generator gen{11};
  for (int64_t size : {16, 20, 16, 24, 20, 16, 24, 16})
    inputs.push_back(Tensor::randn({1, 3, size, size}, &gen));
  std::vector<Tensor> serial;
  {
    NoGradGuard no_grad;
    for (const Tensor& x : inputs) serial.push_back((*model)(x));
  }
  std::vector<Tensor> parallel(inputs.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      NoGradGuard no_grad;  // per thread, as grad mode is
      for (size_t i = t; i < inputs.size(); i += 4) parallel[i] = (*model)(inputs[i]);
    });
  for (std::thread& th : threads) th.join();
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_TRUE(bit_equal(serial[i], parallel[i]))
        << "input " << i << " " << inputs[i].shape().to_string();
}
