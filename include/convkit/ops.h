#pragma once
// Every op. Each area's header documents its ops' contracts.
#include "convkit/ops/activation.h"
#include "convkit/ops/conv.h"
#include "convkit/ops/dropout.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/indexing.h"
#include "convkit/ops/linear.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/norm.h"
#include "convkit/ops/pool.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/roi.h"
#include "convkit/ops/shape_ops.h"
