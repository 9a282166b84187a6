#pragma once
// `convkit eval MODEL --data ...` when MODEL is a detector (one dispatch line in eval_cmd.cpp).
#include <string>

namespace convkit::cli {

void run_eval_detect(const std::string& model_path, const std::string& data_path);

}  // namespace convkit::cli
