#pragma once
// Test-time Python (PyTorch, torchvision, onnx, OpenCV) for the ONNX tests. Never a dependency of
// convkit: a test that needs a missing module skips with the reason.
//   /usr/bin/python3 unless CONVKIT_PYTHON names another interpreter.
#include <string>

namespace convkit::test {

std::string python_exe();
// True when `python -c "import <modules>"` works; otherwise `why` says what is missing. Cached per
// module list for the process.
bool python_has(const std::string& modules, std::string* why);
// Runs `python <args>` with stdout and stderr captured; returns the exit status, `output` the
// captured text.
int run_python(const std::string& args, std::string* output);

// Folder in the build tree for files the ONNX tests generate (never in git).
std::string onnx_work_dir();
// <work>/<name>.onnx and <name>.safetensors from tests/onnx/<script> (gen_onnx.py unless given),
// generated on first use (and again when the script is newer), under a file lock so that parallel
// ctest processes generate each case once. Throws with the script's output when it fails. Returns
// <work>/<name>.
std::string onnx_case(const std::string& name, const std::string& script = "gen_onnx.py");

}  // namespace convkit::test
