// convkit eval on a detector file: VOC mAP@0.5 with per-class AP, and COCO mAP@[.5:.95].
#include "eval_detect.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/data/detection.h"
#include "convkit/detect/detector_file.h"
#include "convkit/train/detection.h"
#include "output_files.h"
#include "plot.h"

namespace convkit::cli {

namespace {
void write_detection_files(const std::string& dir, const metrics::DetectionReport& voc,
                           const metrics::DetectionReport& coco,
                           const std::vector<std::string>& names) {
  make_output_dir(dir, "eval");
  auto name = [&](int64_t c) {
    return c < int64_t(names.size()) ? names[size_t(c)] : std::to_string(c);
  };
  plot::LineChart pr;
  pr.title = "precision-recall at IoU 0.5 (VOC)";
  pr.x_label = "recall";
  pr.y_label = "precision";
  pr.x_min = pr.y_min = 0;
  pr.x_max = pr.y_max = 1.02;
  pr.legend = plot::Corner::bottom_left;
  nlohmann::json classes = nlohmann::json::array();
  for (const metrics::ClassAP& c : voc.per_class) {
    classes.push_back({{"class", name(c.label)},
                       {"ground_truth", c.num_ground_truth},
                       {"detections", c.num_detections},
                       {"ap50", c.ap},
                       {"ap_coco", coco.per_class[size_t(c.label)].ap}});
    if (c.curve.empty()) continue;
    plot::Series s;
    char label[96];
    std::snprintf(label, sizeof label, "%s %.3f", name(c.label).c_str(), c.ap);
    s.name = label;
    for (const metrics::PrPoint& p : c.curve) {
      s.x.push_back(p.recall);
      s.y.push_back(p.precision);
    }
    pr.series.push_back(std::move(s));
  }
  write_text_file(dir + "/pr.png", plot::render(pr, 560, 480));
  const nlohmann::json j = {{"map50_voc", voc.map},
                            {"map50_coco", coco.map50},
                            {"map75_coco", coco.map75},
                            {"map_coco", coco.map},
                            {"per_class", classes}};
  write_text_file(dir + "/detection_eval.json", j.dump(1) + "\n");
  std::printf("wrote %s/detection_eval.json and %s/pr.png\n", dir.c_str(), dir.c_str());
}
}  // namespace

void run_eval_detect(const std::string& model_path, const std::string& data_path,
                     const std::string& out_dir) {
  CONVKIT_CHECK(!data_path.empty(), "eval: a detector needs --data (a box CSV or VOC XML folder)");
  const detect::Detector det = detect::load_detector(model_path);
  data::DetectionListOptions lo;
  lo.class_names = det.class_names;
  lo.on_issue = [](const data::BoxIssue& i) {
    std::fprintf(stderr, "convkit: warning: %s (%s)\n", i.message.c_str(), i.action.c_str());
  };
  data::DetectionList list = data_path.ends_with(".csv") ? data::read_box_csv(data_path, lo)
                                                         : data::read_voc_xml({data_path}, lo);
  auto ds = std::make_shared<data::DetectionDataset>(std::move(list), det.image_size());
  data::DataLoader loader(ds, {.batch_size = 64, .shuffle = false});
  NoGradGuard no_grad;
  std::vector<metrics::Detection> dets;
  std::vector<metrics::GroundTruth> gts;
  int64_t images = 0;
  double seconds = 0;  // in the detector (network, decoding, NMS), not in reading the images
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<metrics::Detection> found =
        det.detect(b->inputs, 0.01, det.arch == "frcnn" ? 0.5 : 0.45);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (metrics::Detection d : found) {
      d.image += images;
      dets.push_back(d);
    }
    for (const auto& g : train::batch_ground_truth(*b, images)) gts.push_back(g);
    images += b->inputs.size(0);
  }
  const int64_t C = det.num_classes();
  const metrics::DetectionReport voc = metrics::voc_map(dets, gts, C);
  const metrics::DetectionReport coco = metrics::coco_map(dets, gts, C);
  std::printf("%s on %s, %lld images, %zu objects\n\n", model_path.c_str(), data_path.c_str(),
              (long long)images, gts.size());
  std::printf("VOC AP@0.5 per class:\n%s\n", voc.to_string(det.class_names).c_str());
  std::printf("mAP@0.5 %.4f  mAP@0.75 %.4f  mAP@[.5:.95] %.4f (COCO definition)\n", coco.map50,
              coco.map75, coco.map);
  std::printf("inference: %.3f ms per image (batches of 64, %s; confidence >= 0.01, as for mAP)\n",
              images ? 1e3 * seconds / double(images) : 0.0, det.arch.c_str());
  if (det.arch == "localize") {
    detect::LocalizationTask task(detect::localization_options(det.localizer));
    const train::Logs m = task.evaluate(*det.model, loader);
    std::printf("class accuracy %.2f%%, localization accuracy (IoU >= 0.5) %.2f%%, both %.2f%%\n",
                100 * m.at("acc"), 100 * m.at("loc_acc"), 100 * m.at("both"));
  }
  if (!out_dir.empty()) write_detection_files(out_dir, voc, coco, det.class_names);
}

}  // namespace convkit::cli
