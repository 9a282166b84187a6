// End-to-end: `convkit export` writes saved weights as ONNX; summary, eval and predict take the
// .onnx file and give what the weights file gives.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/gradcheck.h"
#include "support/tiny_mnist.h"

namespace convkit {
namespace {

namespace fs = std::filesystem;

// Runs the CLI; returns the exit status and puts stdout + stderr in `out`.
int run_cli(const std::string& args, std::string* out) {
  FILE* p = popen((std::string(CONVKIT_CLI) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  out->clear();
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out->append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The part of eval's first line after the file and model names: "... images: loss ..., top-1 ...".
std::string metrics_of(const std::string& eval_output) {
  const size_t at = eval_output.find("images:");
  return at == std::string::npos ? "(no metrics in: " + eval_output + ")"
                                 : eval_output.substr(at, eval_output.find('\n', at) - at);
}

TEST(OnnxCli, ExportThenSummaryEvalPredict) {
  if (backend() != Backend::dnnl) GTEST_SKIP() << "runs once, on the default backend";
  const fs::path dir =
      fs::temp_directory_path() / ("convkit_onnx_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string data = (dir / "data").string(), ckpt = (dir / "w.safetensors").string(),
                    onnx = (dir / "w.onnx").string();
  test::write_tiny_mnist(data, 64, 48);
  auto model = models::create_model("lenet5-modern", {1, 10, 28});
  train::save_weights(ckpt, *model,
                      {{"model", "lenet5-modern"},
                       {"config", R"({"in_channels":1,"num_classes":10,"image_size":28,)"
                                  R"("normalization":{"mean":[0.3],"std":[0.4]}})"}});

  std::string out;
  ASSERT_EQ(run_cli("export " + ckpt + " " + onnx, &out), 0) << out;
  EXPECT_NE(out.find("re-imported output matches"), std::string::npos) << out;
  auto back = io::load_onnx(onnx);
  EXPECT_EQ(back->metadata().at("model"), "lenet5-modern");
  const Tensor x = Tensor::randn({3, 1, 28, 28});
  NoGradGuard no_grad;
  model->eval();
  back->eval();
  EXPECT_LE(test::max_abs_diff((*back)(x), (*model)(x)), 1e-5);

  ASSERT_EQ(run_cli("summary " + onnx, &out), 0) << out;
  EXPECT_NE(out.find("Conv"), std::string::npos) << out;
  EXPECT_NE(out.find("[1,10]"), std::string::npos) << out;

  std::string from_weights, from_onnx;
  ASSERT_EQ(run_cli("eval " + ckpt + " --data " + data, &from_weights), 0) << from_weights;
  ASSERT_EQ(run_cli("eval " + onnx + " --data " + data, &from_onnx), 0) << from_onnx;
  EXPECT_EQ(metrics_of(from_onnx), metrics_of(from_weights));
  ASSERT_EQ(run_cli("predict " + ckpt + " --data " + data + " -i 0 5", &from_weights), 0)
      << from_weights;
  ASSERT_EQ(run_cli("predict " + onnx + " --data " + data + " -i 0 5", &from_onnx), 0) << from_onnx;
  EXPECT_EQ(from_onnx, from_weights);

  EXPECT_NE(
      run_cli("export --checkpoint " + (dir / "missing.safetensors").string() + " --onnx " + onnx,
              &out),
      0);
  EXPECT_NE(out.find("missing.safetensors"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit
