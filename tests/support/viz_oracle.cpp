#include "support/viz_oracle.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "convkit/error.h"
#include "support/python_oracle.h"

namespace fs = std::filesystem;

namespace convkit::test {

std::string viz_reference(const std::string& script, const std::string& prefix,
                          const std::string& name, const std::string& modules, std::string* why) {
  const std::string dir = onnx_work_dir() + "/viz";
  fs::create_directories(dir);
  const fs::path src = fs::path(CONVKIT_TESTS_DIR) / "golden" / script;
  const std::string path = dir + "/" + prefix + "_" + name + ".safetensors";
  auto fresh = [&] {
    return fs::exists(path) && fs::last_write_time(path) >= fs::last_write_time(src);
  };
  if (fresh()) return path;
  if (!python_has(modules, why)) return "";
  const int fd = ::open((dir + "/.lock").c_str(), O_CREAT | O_RDWR, 0644);
  CONVKIT_CHECK(fd >= 0, "cannot open the lock file in ", dir);
  ::flock(fd, LOCK_EX);
  std::string out;
  int rc = 0;
  if (!fresh()) rc = run_python(src.string() + " --out " + dir + " " + name, &out);
  ::flock(fd, LOCK_UN);
  ::close(fd);
  CONVKIT_CHECK(rc == 0, script, " ", name, " failed (exit ", rc, "):\n", out);
  return path;
}

}  // namespace convkit::test
