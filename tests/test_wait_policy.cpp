// The CLI picks OpenMP's passive wait policy unless the user chose one (tools/convkit/
// wait_policy.cpp). libgomp prints its settings under OMP_DISPLAY_ENV=verbose; the last print
// comes from the process that runs the command. Its spin count tells the policies apart (libgomp
// shows OMP_WAIT_POLICY as PASSIVE when unset too): passive 0, unset 300000, active larger.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

std::string cli_output(const std::string& env) {
  std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u CONVKIT_OMP_REEXEC " + env +
                    " OMP_DISPLAY_ENV=verbose " + CONVKIT_CLI + " summary --list 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  return out;
}

std::string last_spin_count(const std::string& out) {
  const std::string key = "GOMP_SPINCOUNT = '";
  size_t at = out.rfind(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return out.substr(at, out.find('\'', at) - at);
}

}  // namespace

TEST(WaitPolicy, CliSleepsInsteadOfSpinningByDefault) {
  EXPECT_EQ(last_spin_count(cli_output("")), "0");
}

TEST(WaitPolicy, CliKeepsThePolicyTheUserChose) {
  EXPECT_NE(last_spin_count(cli_output("OMP_WAIT_POLICY=active")), "0");
  EXPECT_NE(last_spin_count(cli_output("GOMP_SPINCOUNT=1000")), "0");
}
