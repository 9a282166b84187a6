#include "support/python_oracle.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "convkit/error.h"

namespace convkit::test {

namespace fs = std::filesystem;

std::string python_exe() {
  const char* env = std::getenv("CONVKIT_PYTHON");
  if (env && *env) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

int run_python(const std::string& args, std::string* output) {
  const std::string cmd = python_exe() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool python_has(const std::string& modules, std::string* why) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;  // modules -> "" when available, else why
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(modules);
  if (it == cache.end()) {
    std::string out;
    const int rc = run_python("-c \"import " + modules + "\"", &out);
    it = cache
             .emplace(modules, rc == 0 ? ""
                                       : python_exe() + " cannot import " + modules + ": " +
                                             out.substr(out.rfind('\n', out.size() - 2) + 1))
             .first;
  }
  if (why) *why = it->second;
  return it->second.empty();
}

std::string onnx_work_dir() {
  fs::create_directories(CONVKIT_ONNX_WORK_DIR);
  return CONVKIT_ONNX_WORK_DIR;
}

std::string onnx_case(const std::string& name, const std::string& script_name) {
  const std::string dir = onnx_work_dir();
  const std::string base = dir + "/" + name;
  const fs::path script = fs::path(CONVKIT_TESTS_DIR) / "onnx" / script_name;
  auto fresh = [&] {
    for (const char* ext : {".onnx", ".safetensors"})
      if (!fs::exists(base + ext) || fs::last_write_time(base + ext) < fs::last_write_time(script))
        return false;
    return true;
  };
  if (fresh()) return base;
  // One generator at a time across processes: ctest may run the dnnl and ref variants together.
  const int fd = ::open((dir + "/.lock").c_str(), O_CREAT | O_RDWR, 0644);
  CONVKIT_CHECK(fd >= 0, "cannot open the lock file in ", dir);
  ::flock(fd, LOCK_EX);
  std::string out;
  int rc = 0;
  if (!fresh()) rc = run_python(script.string() + " --out " + dir + " " + name, &out);
  ::flock(fd, LOCK_UN);
  ::close(fd);
  CONVKIT_CHECK(rc == 0, script_name, " ", name, " failed (exit ", rc, "):\n", out);
  return base;
}

}  // namespace convkit::test
