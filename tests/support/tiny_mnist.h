#pragma once
// Writes a small MNIST-layout IDX dataset (plain, not gzipped) for tests that run training:
// class k images are noisy versions of a fixed random pattern per class, so a model can learn them.
#include <string>

namespace convkit::test {

// Writes {train,t10k}-{images-idx3,labels-idx1}-ubyte into `dir` (created if needed).
void write_tiny_mnist(const std::string& dir, int n_train, int n_test, unsigned seed = 1);

}  // namespace convkit::test
