#include <cstdio>
#include <cstring>
#include <opencv2/core/utils/logger.hpp>

#include "commands.h"
#include "convkit/dist/communicator.h"
#include "convkit/error.h"

namespace {
// Under mpirun every rank would run the same command and write the same files: only `train` knows
// how to share the work (docs/distributed.md).
bool refuse_other_commands_under_a_launcher(int argc, char** argv) {
  const int world = convkit::dist::launched_world_size();
  if (world <= 1) return false;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    if (std::strcmp(argv[i], "train") == 0) return false;
    std::fprintf(stderr,
                 "convkit: error: this is one of %d processes started by an MPI launcher, and only "
                 "`convkit train` runs data-parallel; run `convkit %s` as a single process\n",
                 world, argv[i]);
    return true;
  }
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  convkit::cli::choose_omp_wait_policy(argv);
  if (refuse_other_commands_under_a_launcher(argc, argv)) return 2;
  // OpenCV's decoders log their own warnings ("[ WARN:0@...] ... grfmt_tiff.cpp") for files that
  // convkit then reports by path; only OpenCV's errors may reach the user's terminal.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  CLI::App app{"convkit: build, train, evaluate and inspect convolutional neural networks"};
  app.require_subcommand(1);
  convkit::cli::add_train(app);
  convkit::cli::add_eval(app);
  convkit::cli::add_predict(app);
  convkit::cli::add_summary(app);
  convkit::cli::add_augment_preview(app);
  convkit::cli::add_export(app);
  convkit::cli::add_make_shapes(app);
  convkit::cli::add_style(app);
  convkit::cli::add_transfer(app);
  convkit::cli::add_cam(app);
  convkit::cli::add_features(app);
  convkit::cli::add_filters(app);
  convkit::cli::add_verify(app);
  convkit::cli::add_gallery_commands(app);
  convkit::cli::add_detect(app);
  convkit::cli::add_check_data(app);
  convkit::cli::add_report(app);
  convkit::cli::add_cv(app);
  convkit::cli::add_serve(app);
  convkit::cli::add_demo(app);
  convkit::cli::add_bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const convkit::Error& e) {
    std::fprintf(stderr, "convkit: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convkit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
