#include "support/cli_run.h"

#include <sys/wait.h>

#include <cstdlib>

namespace convkit::test {

int run(const TempDir& t, const std::string& args, std::string& output) {
  const std::string log = t.path("log.txt");
  int status = std::system((std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1").c_str());
  output = read_bytes(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace convkit::test
