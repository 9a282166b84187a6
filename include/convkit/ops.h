#pragma once
// Every op. Each area's header documents its ops' contracts.
#include "convkit/ops/elementwise.h"
#include "convkit/ops/reduce.h"
