#pragma once
// Energy and forces of one complex at one conformation: the evaluation the OpenMM plugin and the command line do.
#include <torch/types.h>

#include <vector>

#include "ept/graph.h"
#include "ept/model.h"

namespace ept {

struct EnergyForces {
  double energy = 0;          // kJ/mol
  std::vector<Vec3> forces;   // kJ/mol/Å, −∂E/∂x (conservative) or the direct head
};

enum class ForceMode { Conservative, Direct };

/// Builds the graph for `positions` (Å) and evaluates the model in its own dtype.
EnergyForces evaluate(EPTModel& model, const Complex& complex, const std::vector<Vec3>& positions,
                      const Box& box = Box::none(), ForceMode mode = ForceMode::Conservative);

/// Model dtype (float32 or float64), read off its parameters.
torch::Dtype model_dtype(EPTModel& model);

}  // namespace ept
