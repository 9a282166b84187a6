// Eval-mode import of torchvision models from the wild (random weights, exported by
// tests/onnx/gen_tv_eval.py at test time): convkit's output within 1e-4 (max abs) of PyTorch's.
// ctest runs the acceptance set at 64 x 64; tests/onnx/tv_sweep.py runs every builder at
// opsets 13 and 17 through OnnxTorchvisionSweep and writes the table in docs/onnx.md.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

constexpr double kMaxAbsDiff = 1e-4;

struct Comparison {
  double max_abs_diff;  // max |convkit - PyTorch|, both float32
  double max_abs;       // max |PyTorch|: the scale the diff is measured against
  double ours_vs_f64;   // max |convkit float32 - PyTorch float64|
  double torch_vs_f64;  // max |PyTorch float32 - PyTorch float64|: float32's own error
};

Comparison compare(const std::string& base) {
  const io::SafetensorsFile f = io::load_safetensors(base + ".safetensors");
  auto model = io::load_onnx(base + ".onnx");
  model->eval();
  NoGradGuard no_grad;
  const Tensor& want = f.tensors.at("output");
  const Tensor& exact = f.tensors.at("output_f64");
  const Tensor got = (*model)(f.tensors.at("input"));
  return {test::max_abs_diff(got, want), test::max_abs(want), test::max_abs_diff(got, exact),
          test::max_abs_diff(want, exact)};
}

class OnnxTorchvision : public ::testing::TestWithParam<std::string> {};

// MobileNet v3 (HardSigmoid, HardSwish) at opsets 13 and 17, ConvNeXt (LayerNorm decomposed at
// 13 or as LayerNormalization at 17; GELU through Erf) and a tiny model padding the channel axis.
TEST_P(OnnxTorchvision, MatchesPyTorch) {
  std::string why;
  if (!test::python_has("torch, torchvision, onnx", &why)) GTEST_SKIP() << why;
#ifdef CONVKIT_SANITIZE_BUILD
  if (GetParam().rfind("pad_channel", 0) != 0)
    GTEST_SKIP() << GetParam() << " is too slow for the sanitizer build";
#endif
  const std::string base = test::onnx_case(GetParam(), "gen_tv_eval.py");
  const Comparison c = compare(base);
  EXPECT_LE(c.max_abs_diff, kMaxAbsDiff);
  EXPECT_GT(c.max_abs, 0.1) << "outputs this small make the tolerance meaningless";
}

INSTANTIATE_TEST_SUITE_P(Cases, OnnxTorchvision,
                         ::testing::Values("pad_channel@11", "mobilenet_v3_small@13",
                                           "mobilenet_v3_large@17", "convnext_tiny@13"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '@', '_');
                           return n;
                         });

// Not a check: the sweep's runner. With CONVKIT_ONNX_SWEEP_DIR set (tests/onnx/tv_sweep.py sets
// it), imports every <case>.onnx there and writes one line per case to results.tsv:
// case, pass/f32-noise/fail/error, max abs diff, max |PyTorch output|, convkit's and PyTorch's
// float32 distance from PyTorch's float64 output, seconds, the error's first line.
TEST(OnnxTorchvisionSweep, WritesResults) {
  const char* dir = std::getenv("CONVKIT_ONNX_SWEEP_DIR");
  if (dir == nullptr) GTEST_SKIP() << "set CONVKIT_ONNX_SWEEP_DIR (tests/onnx/tv_sweep.py does)";
  namespace fs = std::filesystem;
  std::vector<std::string> cases;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") cases.push_back(e.path().stem().string());
  std::sort(cases.begin(), cases.end());
  std::ofstream out(std::string(dir) + "/results.tsv");
  for (const std::string& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string status, message;
    Comparison r{-1, -1, -1, -1};
    try {
      r = compare(std::string(dir) + "/" + c);
      // Within 1e-4 of PyTorch; else at least as close to the float64 result as PyTorch's own
      // float32 (twice its error), which 1e-4 cannot ask of a deep net.
      status = r.max_abs_diff <= kMaxAbsDiff         ? "pass"
               : r.ours_vs_f64 <= 2 * r.torch_vs_f64 ? "f32-noise"
                                                     : "fail";
    } catch (const std::exception& e) {
      status = "error";
      message = e.what();
      message = message.substr(0, std::min<size_t>(message.find('\n'), 300));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out << c << '\t' << status << '\t' << r.max_abs_diff << '\t' << r.max_abs << '\t'
        << r.ours_vs_f64 << '\t' << r.torch_vs_f64 << '\t' << s << '\t' << message << '\n'
        << std::flush;
  }
}

}  // namespace
}  // namespace convkit
