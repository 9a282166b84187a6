#pragma once
// convkit never aborts: every user-facing failure throws convkit::Error with a message that names
// the op or file, what was expected and what was found (docs/architecture.md, "Errors").
#include <sstream>
#include <stdexcept>
#include <string>

namespace convkit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace convkit

// CONVKIT_CHECK(cond, "conv2d: ", "input has ", c, " channels") throws convkit::Error when cond
// fails.
#define CONVKIT_CHECK(cond, ...)                                                 \
  do {                                                                           \
    if (!(cond)) throw ::convkit::Error(::convkit::detail::concat(__VA_ARGS__)); \
  } while (0)
