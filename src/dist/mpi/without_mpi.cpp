// The build without MPI (CONVKIT_MPI=OFF): the single-process communicator only.
#include "convkit/dist/communicator.h"

namespace convkit::dist {

bool mpi_built() { return false; }

CommunicatorPtr mpi_world(double) {
  throw Error(
      "dist::mpi_world: this convkit was built without MPI; install libopenmpi-dev and rebuild "
      "(CMake option CONVKIT_MPI)");
}

}  // namespace convkit::dist
