#include "ept/potential.h"

#include "ept/geometry.h"

#include <torch/autograd.h>

namespace ept {

torch::Dtype model_dtype(EPTModel& model) { return model->parameters().front().scalar_type(); }

EnergyForces evaluate(EPTModel& model, const Complex& complex, const std::vector<Vec3>& positions, const Box& box,
                      ForceMode mode) {
  const auto dtype = model_dtype(model);
  const Graph graph = build_graph(complex, positions, model->config().graph_options(box));
  const Batch batch = make_batch({&complex}, {&graph}, dtype);
  auto x = vec3_tensor(positions, dtype);
  x.set_requires_grad(mode == ForceMode::Conservative);
  const ModelOutput out = model->forward(batch, x);
  EnergyForces result;
  result.energy = out.energy.sum().item<double>();
  torch::Tensor f = mode == ForceMode::Conservative ? -torch::autograd::grad({out.energy.sum()}, {x})[0] : out.force;
  f = f.detach().to(torch::kFloat64).contiguous();
  const double* p = f.data_ptr<double>();
  result.forces.resize(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) result.forces[i] = {p[3 * i], p[3 * i + 1], p[3 * i + 2]};
  return result;
}

}  // namespace ept
