#include "core/trace.h"

namespace convkit::detail {

thread_local OpTracer* t_op_tracer = nullptr;

}  // namespace convkit::detail
