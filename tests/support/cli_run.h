#pragma once
// Running the convkit CLI from the end-to-end tests.
#include <string>

#include "support/image_files.h"

namespace convkit::test {

// Runs `convkit ARGS` with stdout and stderr in t/log.txt; returns the exit status (-1 when it did
// not exit normally) and the output in `output`.
int run(const TempDir& t, const std::string& args, std::string& output);
bool has(const std::string& text, const std::string& part);

}  // namespace convkit::test
