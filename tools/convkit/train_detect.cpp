// convkit train --task detect --arch yolo|frcnn: boxes from a CSV (or VOC XML), k-means anchors, a
// Darknet-style YOLO (DetectionTask) or a Faster R-CNN on the same trunk (FasterRcnnTask) trained
// by the Trainer, mAP on validation (and test) data, the detector saved as
// <out>/detector.safetensors (detect/detector_file.h).
#include "train_detect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "convkit/data/detection.h"
#include "convkit/detect/detector_file.h"
#include "convkit/train/callbacks.h"
#include "convkit/train/detection.h"
#include "convkit/train/trainer.h"

namespace convkit::cli {

namespace {

data::DetectionList read_list(const std::string& path, bool strict) {
  data::DetectionListOptions o;
  o.policy = strict ? data::BadDataPolicy::strict : data::BadDataPolicy::skip;
  o.on_issue = [](const data::BoxIssue& i) {
    std::fprintf(stderr, "convkit: warning: %s (%s)\n", i.message.c_str(), i.action.c_str());
  };
  return path.ends_with(".csv") ? data::read_box_csv(path, o) : data::read_voc_xml({path}, o);
}

// k-means anchors over the training boxes, in input pixels (image_size x image_size).
std::vector<detect::AnchorSize> choose_anchors(const data::DetectionList& l, int64_t image_size,
                                               int64_t k, uint64_t seed) {
  std::vector<detect::AnchorSize> sizes;
  for (const auto& im : l.images)
    for (const auto& o : im.objects)
      sizes.push_back({float(o.box.width() * image_size / im.width),
                       float(o.box.height() * image_size / im.height)});
  Generator gen(seed);
  const detect::KMeansAnchors r = detect::kmeans_anchors(sizes, int(k), gen);
  std::printf("anchors (k-means, mean IoU %.3f):", r.mean_iou);
  for (const auto& a : r.anchors) std::printf(" %.1fx%.1f", a.w, a.h);
  std::printf("\n");
  return r.anchors;
}

// One line per epoch with the detection metrics (Progress prints classification's).
class DetectProgress : public train::Callback {
 public:
  void on_epoch_end(train::TrainContext&, train::EpochRecord& r) override {
    std::printf("epoch %lld: train loss %.4f", (long long)r.epoch, r.train.at("loss"));
    if (r.has_val)
      std::printf(" | val loss %.4f mAP@0.5 %.4f mAP@[.5:.95] %.4f", r.val.at("loss"),
                  r.val.at("map50"), r.val.at("map"));
    std::printf(" | lr %.5f | %.1f s, %.0f img/s\n", r.lr, r.seconds, r.images_per_second);
    std::fflush(stdout);
  }
};

}  // namespace

void add_detect_train_options(CLI::App& cmd, DetectTrainArgs& a) {
  cmd.add_option("--arch", a.arch, "Detector architecture (--task detect): yolo or frcnn")
      ->capture_default_str()
      ->check(CLI::IsMember({"yolo", "frcnn"}));
  cmd.add_option("--grid", a.grid,
                 "Detector grid: YOLO's S, Faster R-CNN's feature map side (--image-size must be "
                 "it times a power of 2)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--anchors", a.anchors,
                 "k-means anchor shapes: YOLO's anchors per cell; Faster R-CNN's scales (each at "
                 "ratios 0.5, 1, 2)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--detector-width", a.width,
                 "Channels of the detector's first block [default: yolo 16, frcnn 32]")
      ->check(CLI::PositiveNumber);
}

void run_train_detect(const DetectTrainArgs& a) {
  CONVKIT_CHECK(a.arch == "yolo" || a.arch == "frcnn", "train --task detect: --arch '", a.arch,
                "' is not available (yolo or frcnn)");
  const train::TrainOptions& o = a.opt;
  CONVKIT_CHECK(o.overwrite || !std::filesystem::exists(o.out_dir + "/detector.safetensors"),
                o.out_dir, "/detector.safetensors exists; pass --overwrite or another --out");
  data::DetectionList list = read_list(a.data, a.strict);
  std::printf("data: %s, %zu images, %lld objects, %zu classes\n", a.data.c_str(),
              list.images.size(), (long long)list.num_objects(), list.class_names.size());
  detect::Detector det;
  det.arch = a.arch;
  det.class_names = list.class_names;
  const std::vector<detect::AnchorSize> shapes =
      choose_anchors(list, a.image_size, a.anchors, o.seed);
  if (a.arch == "yolo") {
    det.width = a.width ? a.width : 16;
    det.config.image_size = a.image_size;
    det.config.grid = a.grid;
    det.config.num_classes = int64_t(list.class_names.size());
    det.config.anchors = shapes;
  } else {
    det.frcnn.width = a.width ? a.width : 32;
    det.frcnn.image_size = a.image_size;
    det.frcnn.grid = a.grid;
    det.frcnn.num_classes = int64_t(list.class_names.size());
    det.frcnn.anchor_sizes.clear();  // each k-means shape's scale, sqrt(w h)
    for (const detect::AnchorSize& s : shapes) det.frcnn.anchor_sizes.push_back(std::sqrt(s.w * s.h));
  }
  const std::vector<std::string> names = list.class_names;
  auto plain = std::make_shared<data::DetectionDataset>(std::move(list), a.image_size);
  auto augmented = plain->with_augmentation(
      {.hflip = 0.5, .scale_min = 0.9, .scale_max = 1.1, .translate = 0.1});
  // A seeded split: the last val_fraction of a permutation.
  std::vector<int64_t> order(plain->size());
  for (int64_t i = 0; i < plain->size(); ++i) order[i] = i;
  Generator g(o.seed);
  for (int64_t i = plain->size() - 1; i > 0; --i)
    std::swap(order[i], order[g.next_u64() % uint64_t(i + 1)]);
  const int64_t n_val = int64_t(double(plain->size()) * o.val_fraction);
  auto train_set = std::make_shared<data::Subset>(
      augmented, std::vector<int64_t>(order.begin(), order.end() - n_val));
  auto val_set =
      std::make_shared<data::Subset>(plain, std::vector<int64_t>(order.end() - n_val, order.end()));

  manual_seed(o.seed);
  std::unique_ptr<train::Task> task;
  if (a.arch == "yolo") {
    det.model = detect::make_yolo_darknet(det.config, det.width);
    task = std::make_unique<train::DetectionTask>(det.config);
  } else {
    det.model = std::make_shared<detect::FasterRcnn>(det.frcnn);
    task = std::make_unique<train::FasterRcnnTask>(o.seed);
  }
  auto optimizer = train::make_optimizer(train::make_param_groups(*det.model, o), o);
  data::DataLoader loader(train_set, {.batch_size = o.batch_size,
                                      .shuffle = true,
                                      .seed = o.seed,
                                      .prefetch = 2,
                                      .workers = o.loader_workers});
  std::unique_ptr<data::DataLoader> val_loader;
  if (n_val > 0)
    val_loader = std::make_unique<data::DataLoader>(
        val_set, data::LoaderOptions{.batch_size = 64, .shuffle = false, .prefetch = 2});
  train::Trainer trainer(*det.model, *optimizer, *task, loader, val_loader.get(),
                         {.epochs = o.epochs, .clip_grad_norm = o.clip_grad_norm});
  if (optim::SchedulePtr s = train::make_schedule(o, loader.num_batches()))
    trainer.add_callback(std::make_shared<train::ScheduleCallback>(s));
  trainer.add_callback(std::make_shared<DetectProgress>());
  trainer.on_message([](const std::string& s) { std::printf("%s\n", s.c_str()); });
  std::printf("convkit train --task detect: %s (grid %lld, %lld anchor shapes) on %lld train, %lld "
              "validation images\n",
              a.arch.c_str(), (long long)a.grid, (long long)a.anchors,
              (long long)train_set->size(), (long long)n_val);
  trainer.run();
  std::filesystem::create_directories(o.out_dir);
  const std::string path = o.out_dir + "/detector.safetensors";
  det.model->eval();
  detect::save_detector(path, det);
  if (val_loader) {
    const train::Logs v = task->evaluate(*det.model, *val_loader);
    std::printf("validation: mAP@0.5 %.4f, mAP@[.5:.95] %.4f\n", v.at("map50"), v.at("map"));
  }
  if (!a.test_data.empty()) {
    data::DetectionListOptions lo;
    lo.class_names = names;
    lo.policy = a.strict ? data::BadDataPolicy::strict : data::BadDataPolicy::skip;
    auto test =
        std::make_shared<data::DetectionDataset>(data::read_box_csv(a.test_data, lo), a.image_size);
    data::DataLoader tl(test, {.batch_size = 64, .shuffle = false});
    const train::Logs t = task->evaluate(*det.model, tl);
    std::printf("test: mAP@0.5 %.4f, mAP@[.5:.95] %.4f on %lld images\n", t.at("map50"),
                t.at("map"), (long long)test->size());
  }
  std::printf("detector: %s\n", path.c_str());
}

}  // namespace convkit::cli
