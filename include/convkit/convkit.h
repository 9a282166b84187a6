#pragma once
// The whole public API.
#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/error.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "convkit/tensor.h"
