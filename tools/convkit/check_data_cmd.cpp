// convkit check-data: leakage between the sets a model is trained, tuned and tested on (exact and
// near-duplicate images across them), duplicates within a set that carry different labels, and
// CSV rows whose label disagrees with the class folder the file sits in (docs/evaluation.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "commands.h"
#include "convkit/data/duplicates.h"
#include "image_data.h"
#include "output_files.h"

namespace convkit::cli {

namespace {
struct CheckDataArgs {
  std::string data, val, test;
  ImageDataArgs images;
  int64_t image_size = 64;
  int max_distance = 6;
  double max_difference = 3;
  int64_t show = 10;
  std::string out, progress = "auto";
  bool strict = false;
};

struct NamedSet {
  std::string role, name;  // "train", "/data/x (test split)"
  data::DatasetPtr ds;
  std::shared_ptr<data::ImageDataset> images;  // null for IDX data
  std::vector<data::ImageFingerprint> prints;

  std::string example(int64_t i) const {
    return images ? images->entry(i).path : name + " #" + std::to_string(i);
  }
  std::string label(int64_t i) const {
    const int64_t y = ds->labels()[size_t(i)];
    const auto names = ds->class_names();
    return y < int64_t(names.size()) ? names[size_t(y)] : std::to_string(y);
  }
};

NamedSet open_set(const std::string& role, const std::string& path, const CheckDataArgs& a,
                  bool idx_train) {
  NamedSet s{role, path, nullptr, nullptr, {}};
  if (is_image_data(path)) {
    data::ImagePreprocessing prep;
    prep.image_size = a.image_size;
    s.images = open_image_data(path, prep, a.images);
    s.ds = s.images;
    std::printf("%s: %s\n", role.c_str(), describe_image_data(path, *s.images).c_str());
  } else {
    s.name = path + (idx_train ? " (train split)" : " (test split)");
    s.ds = data::fashion_mnist(path, idx_train);
    std::printf("%s: %s, %lld images\n", role.c_str(), s.name.c_str(), (long long)s.ds->size());
  }
  CONVKIT_CHECK(s.ds->size() > 0, role, " set ", path, " has no images");
  return s;
}

void fingerprint(NamedSet& s, bool live) {
  s.prints = data::fingerprints(*s.ds, [&](int64_t done, int64_t total) {
    if (live)
      std::fprintf(stderr, "\rhashing %s: %lld / %lld", s.role.c_str(), (long long)done,
                   (long long)total);
  });
  if (live) std::fprintf(stderr, "\n");
}

std::string near_text(const data::DuplicatePair& p) {
  char b[96];
  std::snprintf(b, sizeof b, "hash distance %d, thumbnail difference %.1f", p.distance,
                p.difference);
  return b;
}

// CSV lists may put files in class folders and label them too: a row whose folder is another
// class's name is a likely labelling mistake.
int64_t folder_label_mismatches(const NamedSet& s, int64_t show, std::ostringstream& csv) {
  if (!s.images) return 0;
  const auto names = s.ds->class_names();
  std::map<std::string, int64_t> by_name;
  for (size_t c = 0; c < names.size(); ++c) by_name[names[c]] = int64_t(c);
  int64_t found = 0;
  for (int64_t i = 0; i < s.ds->size(); ++i) {
    const data::ImageEntry& e = s.images->entry(i);
    const std::string folder = std::filesystem::path(e.path).parent_path().filename().string();
    const auto it = by_name.find(folder);
    if (it == by_name.end() || it->second == e.label) continue;
    if (found++ < show)
      std::printf("  %s: labelled %s, but sits in the folder of class %s\n", e.path.c_str(),
                  s.label(i).c_str(), folder.c_str());
    csv << "folder_label," << s.role << "," << e.path << "," << s.label(i) << ",,," << folder
        << ",,,\n";
  }
  return found;
}

void run_check_data(const CheckDataArgs& a) {
  const bool live = a.progress == "always" || (a.progress == "auto" && isatty(fileno(stderr)));
  std::vector<NamedSet> sets;
  const bool idx = !is_image_data(a.data);
  sets.push_back(open_set("train", a.data, a, /*idx_train=*/true));
  if (!a.val.empty()) sets.push_back(open_set("val", a.val, a, false));
  if (!a.test.empty())
    sets.push_back(open_set("test", a.test, a, false));
  else if (idx)  // an IDX folder holds its own test split
    sets.push_back(open_set("test", a.data, a, false));
  for (NamedSet& s : sets) fingerprint(s, live);

  std::ostringstream csv;
  csv << "kind,set,example,label,other_set,other_example,other_label_or_folder,distance,"
         "difference,identical\n";
  int64_t leaks = 0, conflicts = 0, mismatches = 0;
  auto list = [&](const char* kind, const NamedSet& x, const NamedSet& y,
                  const std::vector<data::DuplicatePair>& pairs, int64_t* count) {
    for (const auto& p : pairs) {
      if (std::string(kind) == "label_conflict" && x.label(p.a) == y.label(p.b)) continue;
      if ((*count)++ < a.show)
        std::printf("  %s (%s) ~ %s (%s): %s\n", x.example(p.a).c_str(), x.label(p.a).c_str(),
                    y.example(p.b).c_str(), y.label(p.b).c_str(),
                    p.exact ? "identical pixels" : near_text(p).c_str());
      csv << kind << "," << x.role << "," << x.example(p.a) << "," << x.label(p.a) << "," << y.role
          << "," << y.example(p.b) << "," << y.label(p.b) << "," << p.distance << ","
          << p.difference << "," << (p.exact ? "yes" : "no") << "\n";
    }
  };
  for (size_t i = 0; i < sets.size(); ++i)
    for (size_t k = i + 1; k < sets.size(); ++k) {
      const auto pairs = data::find_duplicates(sets[i].prints, sets[k].prints, a.max_distance,
                                               false, a.max_difference);
      std::printf(
          "\n%s vs %s: %zu duplicate pairs (identical, or hash distance <= %d and "
          "thumbnail difference <= %g)\n",
          sets[i].role.c_str(), sets[k].role.c_str(), pairs.size(), a.max_distance,
          a.max_difference);
      int64_t shown = 0;
      list("leak", sets[i], sets[k], pairs, &shown);
      leaks += int64_t(pairs.size());
    }
  for (const NamedSet& s : sets) {
    const auto pairs =
        data::find_duplicates(s.prints, s.prints, a.max_distance, true, a.max_difference);
    std::printf("\nwithin %s: %zu duplicate pairs", s.role.c_str(), pairs.size());
    int64_t n = 0;
    for (const auto& p : pairs) n += s.label(p.a) != s.label(p.b);
    std::printf(", %lld of them with different labels\n", (long long)n);
    int64_t shown = 0;
    list("label_conflict", s, s, pairs, &shown);
    conflicts += n;
  }
  for (const NamedSet& s : sets) {
    std::ostringstream part;
    const int64_t m = folder_label_mismatches(s, a.show, part);
    if (m > 0)
      std::printf("%s: %lld files labelled differently from their class folder\n", s.role.c_str(),
                  (long long)m);
    csv << part.str();
    mismatches += m;
  }
  if (!a.out.empty()) {
    make_output_dir(a.out, "check-data");
    write_text_file(a.out + "/check_data.csv", csv.str());
    std::printf("\nwrote %s/check_data.csv\n", a.out.c_str());
  }
  const bool clean = leaks == 0 && conflicts == 0 && mismatches == 0;
  std::printf("\n%s\n", clean ? "no leaks, label conflicts or folder mismatches found"
                              : "problems found: see above (a duplicate across sets inflates the "
                                "numbers measured on the second set; remove it from one of them)");
  if (a.strict && !clean)
    throw Error("check-data: problems found (--strict): " + std::to_string(leaks) +
                " duplicate pairs across sets, " + std::to_string(conflicts) +
                " duplicates with different labels, " + std::to_string(mismatches) +
                " folder/label mismatches");
}
}  // namespace

void add_check_data(CLI::App& app) {
  auto a = std::make_shared<CheckDataArgs>();
  auto* cmd = app.add_subcommand(
      "check-data",
      "Find exact and near-duplicate images across train/validation/test (leakage), duplicates "
      "with different labels, and CSV labels that contradict the class folder");
  cmd->add_option("--data", a->data,
                  "The training set: an image folder, a .csv list, or an IDX folder (then its "
                  "test split is the test set unless --test is given)")
      ->required();
  cmd->add_option("--val", a->val, "A validation set (image folder or .csv list)");
  cmd->add_option("--test", a->test, "A test set (image folder or .csv list)");
  cmd->add_option("--image-size", a->image_size,
                  "Side the images are compared at (shorter side resized, centre crop)")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  cmd->add_option("--max-distance", a->max_distance,
                  "Largest Hamming distance of the 64-bit perceptual hashes that counts as a near "
                  "duplicate (0: only equal hashes)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->add_option("--max-difference", a->max_difference,
                  "Largest mean absolute difference (0-255 levels) of the 16 x 16 grayscale "
                  "thumbnails, brightness removed, that confirms a near duplicate")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 255.0));
  cmd->add_option("--show", a->show, "Pairs listed per check")->capture_default_str();
  cmd->add_option("--out", a->out, "Also write every finding to check_data.csv here");
  cmd->add_flag("--fail-on-problems", a->strict, "Exit 1 when anything is found (for scripts)");
  cmd->add_option("--progress", a->progress, "auto | always | never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  cmd->callback([a] { run_check_data(*a); });
}

}  // namespace convkit::cli
