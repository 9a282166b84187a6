#pragma once
// `convkit eval MODEL --data ...` when MODEL is a detector (one dispatch line in eval_cmd.cpp).
#include <string>

namespace convkit::cli {

// With `out_dir`: also detection_eval.json (AP per class, the means) and pr.png (VOC
// precision-recall curves per class).
void run_eval_detect(const std::string& model_path, const std::string& data_path,
                     const std::string& out_dir = "");

}  // namespace convkit::cli
