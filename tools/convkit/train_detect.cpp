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
#include "convkit/train/checkpoint.h"
#include "convkit/train/detection.h"
#include "convkit/train/setup.h"
#include "convkit/train/trainer.h"
#include "pausable.h"

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

// The metrics of an evaluation: mAP for the detectors, accuracies for a localizer.
std::string metrics_text(const train::Logs& m) {
  char text[160];
  if (m.count("map50"))
    std::snprintf(text, sizeof text, "mAP@0.5 %.4f mAP@[.5:.95] %.4f", m.at("map50"), m.at("map"));
  else
    std::snprintf(text, sizeof text,
                  "class accuracy %.2f%%, localization accuracy (IoU >= 0.5) %.2f%%, both %.2f%%",
                  100 * m.at("acc"), 100 * m.at("loc_acc"), 100 * m.at("both"));
  return text;
}

// One line per epoch with the detection metrics (Progress prints classification's).
class DetectProgress : public train::Callback {
 public:
  void on_epoch_end(train::TrainContext&, train::EpochRecord& r) override {
    std::printf("epoch %lld: train loss %.4f", (long long)r.epoch, r.train.at("loss"));
    if (r.has_val)
      std::printf(" | val loss %.4f %s", r.val.at("loss"), metrics_text(r.val).c_str());
    std::printf(" | lr %.5f | %.1f s, %.0f img/s\n", r.lr, r.seconds, r.images_per_second);
    std::fflush(stdout);
  }
};

// A localizer regresses the one object of each image: refuse data with none or several.
void check_one_object_each(const data::DetectionList& l, const std::string& path) {
  int64_t bad = 0;
  std::string first;
  for (const auto& im : l.images)
    if (im.objects.size() != 1) {
      if (!bad++) first = im.path + " (" + std::to_string(im.objects.size()) + " objects)";
    }
  CONVKIT_CHECK(bad == 0, "train --arch localize: ", path, ": ", bad,
                " images do not hold exactly one object, the first ", first,
                "; a localization head predicts one box per image (make-shapes --objects-max 1), "
                "use --arch yolo or frcnn for several");
}

}  // namespace

void add_detect_train_options(CLI::App& cmd, DetectTrainArgs& a) {
  cmd.add_option("--arch", a.arch,
                 "Detector architecture (--task detect): yolo, frcnn, or localize (classification "
                 "+ one box "
                 "per image)")
      ->capture_default_str()
      ->check(CLI::IsMember({"yolo", "frcnn", "localize"}));
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
  cmd.add_option("--detector-width", a.width, "Channels of the darknet backbone's first block")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--backbone", a.backbone,
                 "Detector trunk: darknet, or a zoo model cut at --backbone-layer (convkit "
                 "summary --list)")
      ->capture_default_str();
  cmd.add_option("--backbone-layer", a.backbone_layer,
                 "Where to cut a zoo backbone (a layer name, e.g. layer2); its map must be grid x "
                 "grid");
  cmd.add_option("--backbone-weights", a.backbone_weights,
                 "Pretrained weights for a zoo backbone (convkit checkpoint, torchvision-named "
                 "safetensors or ONNX)");
}

// The detector's configuration from the flags and the training boxes, or, resuming, the saved
// run's (the anchors its k-means chose), which must be of the same architecture and classes.
detect::Detector configure(const DetectTrainArgs& a, const data::DetectionList& list) {
  const train::TrainOptions& o = a.opt;
  const std::string state = o.out_dir + "/train_state.safetensors";
  if (o.resume && std::filesystem::exists(state)) {
    detect::Detector saved = detect::detector_config(train::read_metadata(state), state);
    CONVKIT_CHECK(saved.arch == a.arch, state, " holds a ", saved.arch, " detector, not --arch ",
                  a.arch, "; resume with --arch ", saved.arch, " or train into another --out");
    CONVKIT_CHECK(saved.class_names == list.class_names, state,
                  " was trained on other classes than ", a.data, " holds");
    std::printf("resuming the %s detector in %s (its image size, grid and anchors)\n",
                saved.arch.c_str(), o.out_dir.c_str());
    return saved;
  }
  detect::Detector det;
  det.arch = a.arch;
  det.class_names = list.class_names;
  det.backbone = {a.backbone, a.backbone_layer, a.width, a.backbone_weights};
  det.frcnn.backbone = det.backbone;
  if (a.arch == "localize") {
    check_one_object_each(list, a.data);
    det.localizer = {a.image_size, a.grid, det.num_classes()};
    return det;
  }
  const std::vector<detect::AnchorSize> shapes =
      choose_anchors(list, a.image_size, a.anchors, o.seed);
  if (a.arch == "yolo") {
    det.config.image_size = a.image_size;
    det.config.grid = a.grid;
    det.config.num_classes = det.num_classes();
    det.config.anchors = shapes;
  } else {
    det.frcnn.image_size = a.image_size;
    det.frcnn.grid = a.grid;
    det.frcnn.num_classes = det.num_classes();
    det.frcnn.anchor_sizes.clear();  // each k-means shape's scale, sqrt(w h)
    for (const detect::AnchorSize& s : shapes)
      det.frcnn.anchor_sizes.push_back(std::sqrt(s.w * s.h));
  }
  return det;
}

void run_train_detect(const DetectTrainArgs& a) {
  CONVKIT_CHECK(a.arch == "yolo" || a.arch == "frcnn" || a.arch == "localize",
                "train --task detect: --arch '", a.arch,
                "' is not available (yolo, frcnn or localize)");
  const train::TrainOptions& o = a.opt;
  CONVKIT_CHECK(
      o.overwrite || o.resume || !std::filesystem::exists(o.out_dir + "/detector.safetensors"),
      o.out_dir, "/detector.safetensors exists; pass --overwrite, --resume or another --out");
  data::DetectionList list = read_list(a.data, a.strict);
  std::printf("data: %s, %zu images, %lld objects, %zu classes\n", a.data.c_str(),
              list.images.size(), (long long)list.num_objects(), list.class_names.size());
  detect::Detector det = configure(a, list);
  const int64_t size = det.image_size();
  const std::vector<std::string> names = list.class_names;
  auto plain = std::make_shared<data::DetectionDataset>(std::move(list), size);
  // A localizer's image must keep its one object: flips only (a translated box may be dropped).
  auto augmented = det.arch == "localize"
                       ? plain->with_augmentation({.hflip = 0.5})
                       : plain->with_augmentation(
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
  if (det.arch == "yolo") {
    det.model = detect::make_yolo(det.config, det.backbone);
    task = std::make_unique<train::DetectionTask>(det.config);
  } else if (det.arch == "frcnn") {
    det.model = std::make_shared<detect::FasterRcnn>(det.frcnn);
    task = std::make_unique<train::FasterRcnnTask>();
  } else {
    det.model = detect::make_localizer(det.localizer, det.backbone);
    task = std::make_unique<detect::LocalizationTask>(detect::localization_options(det.localizer));
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
  // Checkpoints carry the detector's metadata: best.safetensors and last.safetensors load as
  // detectors, and a resume rebuilds the same network. "model" makes a resume refuse another.
  train::Metadata meta = detect::detector_metadata(det);
  meta["model"] = "detector " + det.arch;
  auto checkpoint = train::add_standard_callbacks(trainer, o, loader.num_batches(), meta);
  trainer.add_callback(std::make_shared<DetectProgress>());
  trainer.on_message([](const std::string& s) { std::printf("%s\n", s.c_str()); });
  const int64_t grid = det.arch == "yolo"    ? det.config.grid
                       : det.arch == "frcnn" ? det.frcnn.grid
                                             : det.localizer.grid;
  const size_t shapes = det.arch == "yolo"    ? det.config.anchors.size()
                        : det.arch == "frcnn" ? det.frcnn.anchor_sizes.size()
                                              : 0;
  const std::string anchors = shapes ? ", " + std::to_string(shapes) + " anchor shapes" : "";
  std::printf(
      "convkit train --task detect: %s (grid %lld%s) on %lld train, %lld validation "
      "images\n",
      det.arch.c_str(), (long long)grid, anchors.c_str(), (long long)train_set->size(),
      (long long)n_val);
  run_pausable(trainer);
  // The detector: the best validation epoch's weights (by mAP@0.5), the last without validation.
  if (val_loader) train::load_weights(checkpoint->weights_path("best"), *det.model);
  const std::string path = o.out_dir + "/detector.safetensors";
  det.model->eval();
  detect::save_detector(path, det);
  if (val_loader) {
    const train::Logs v = task->evaluate(*det.model, *val_loader);
    std::printf("validation (best epoch): %s\n", metrics_text(v).c_str());
  }
  if (!a.test_data.empty()) {
    data::DetectionListOptions lo;
    lo.class_names = names;
    lo.policy = a.strict ? data::BadDataPolicy::strict : data::BadDataPolicy::skip;
    lo.on_issue = [](const data::BoxIssue& i) {
      std::fprintf(stderr, "convkit: warning: %s (%s)\n", i.message.c_str(), i.action.c_str());
    };
    auto test = std::make_shared<data::DetectionDataset>(
        a.test_data.ends_with(".csv") ? data::read_box_csv(a.test_data, lo)
                                      : data::read_voc_xml({a.test_data}, lo),
        size);
    data::DataLoader tl(test, {.batch_size = 64, .shuffle = false});
    const train::Logs t = task->evaluate(*det.model, tl);
    std::printf("test: %s on %lld images\n", metrics_text(t).c_str(), (long long)test->size());
  }
  std::printf("detector: %s\n", path.c_str());
}

}  // namespace convkit::cli
