#include "augment_options.h"

#include "convkit/data/augmented.h"

namespace convkit::cli {

void add_augment_options(CLI::App& cmd, data::AugmentFlags& f) {
  const char* g = "Augmentation (training set only; docs/augmentation.md)";
  cmd.add_option("--augment", f.recipe,
                 "Augmentation recipe, a JSON file (exclusive with the flags below)")
      ->group(g)
      ->check(CLI::ExistingFile);
  cmd.add_flag("--hflip", f.hflip, "Random horizontal flip (p=0.5)")->group(g);
  cmd.add_flag("--vflip", f.vflip, "Random vertical flip (p=0.5)")->group(g);
  cmd.add_option(
         "--crop", f.crop,
         "Crop size N (NxN) of --pad/--resized-crop/--scale-jitter (default: the image size)")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--pad", f.pad,
                 "Random crop after padding each side by P pixels (filled per --fill)")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--resized-crop", f.resized_crop,
                 "Inception random-resized crop, area scale in [MIN, 1]")
      ->group(g)
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--scale-jitter", f.scale_jitter,
                 "VGG scale jitter: shorter side uniform in [MIN, MAX], then crop")
      ->group(g)
      ->delimiter(',')
      ->expected(2);
  cmd.add_option("--rotate", f.rotate, "Random rotation within +-DEG degrees")
      ->group(g)
      ->check(CLI::Range(0.0, 180.0));
  cmd.add_option("--shift", f.shift, "Random shift within +-F of the width and height")
      ->group(g)
      ->check(CLI::Range(0.0, 0.99));
  cmd.add_option("--shear", f.shear, "Random shear within +-DEG degrees")
      ->group(g)
      ->check(CLI::Range(0.0, 89.0));
  cmd.add_option("--zoom", f.zoom, "Random zoom factor in [1-F, 1+F]")
      ->group(g)
      ->check(CLI::Range(0.0, 0.99));
  cmd.add_option("--fill", f.fill, "Fill outside the image: constant | nearest | reflect | wrap")
      ->group(g)
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "nearest", "reflect", "wrap"}));
  cmd.add_option("--color-jitter", f.color_jitter,
                 "Brightness, contrast, saturation jitter B[,C,S]")
      ->group(g)
      ->delimiter(',')
      ->expected(1, 3);
  cmd.add_option("--channel-shift", f.channel_shift, "Random per-channel shift within +-R (0..255)")
      ->group(g)
      ->check(CLI::Range(0.0, 255.0));
  cmd.add_option("--pca-lighting", f.pca_lighting,
                 "AlexNet PCA lighting noise with this std (0.1 in the paper)")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--erase", f.erase, "Random erasing with probability P")
      ->group(g)
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--cutout", f.cutout, "Cutout of an NxN square")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
}

data::TransformPtr augmentation_for(const data::AugmentFlags& flags,
                                    const data::DatasetPtr& train_set) {
  data::RecipeContext ctx{[train_set] { return data::sample_images(*train_set, 2000); }};
  return data::build_augmentation(flags, ctx);
}

}  // namespace convkit::cli
