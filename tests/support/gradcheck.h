#pragma once
// Test helpers shared by every op test:
//  - gradcheck: finite differences vs. autograd, in float64 on the reference backend;
//  - compare_backends: the same float32 computation on ref and dnnl, outputs and input gradients;
//  - expect_throw_with: an exception whose message contains every given fragment.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "convkit/convkit.h"

namespace convkit::test {

using Fn = std::function<Tensor(const TensorList&)>;

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
};

// Inputs: float64 tensors; those with requires_grad are checked. f's output is contracted with a
// fixed random tensor r, so every output element's gradient is exercised: L = sum(f(x) * r).
::testing::AssertionResult gradcheck(const Fn& f, const TensorList& inputs,
                                     const GradcheckOptions& opt = {});

// Random float64 tensor (normal) that requires grad, for gradcheck inputs.
Tensor rand_var(const Shape& shape, uint64_t seed, double scale = 1.0);

// Runs f on copies of the float32 inputs with the ref backend and then the dnnl backend; compares
// the outputs and the gradients of inputs that require grad (upstream: fixed random tensor).
// Max abs difference must be <= atol + rtol * max|reference|.
::testing::AssertionResult compare_backends(const Fn& f, const TensorList& inputs,
                                            double atol = 1e-4, double rtol = 1e-4);

// Max |a - b| over all elements (shapes must match); converts both to double.
double max_abs_diff(const Tensor& a, const Tensor& b);
double max_abs(const Tensor& a);
// ||got - want|| / ||want|| over all elements (shapes must match), in double.
double relative_rms(const Tensor& got, const Tensor& want);

}  // namespace convkit::test

// EXPECT that `stmt` throws convkit::Error whose message contains each of the given strings.
#define EXPECT_THROW_WITH(stmt, ...)                                        \
  do {                                                                      \
    try {                                                                   \
      stmt;                                                                 \
      ADD_FAILURE() << "expected convkit::Error from: " #stmt;              \
    } catch (const ::convkit::Error& e) {                                   \
      for (const std::string& frag : std::vector<std::string>{__VA_ARGS__}) \
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)      \
            << "message \"" << e.what() << "\" lacks \"" << frag << "\"";   \
    }                                                                       \
  } while (0)
