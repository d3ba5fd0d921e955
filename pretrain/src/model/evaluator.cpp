#include "ept/model/evaluator.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "ept/model/descriptors.h"
#include "ept/error.h"
#include "ept/model/geometry.h"

namespace ept {

torch::Dtype model_dtype(EPTModel& model) { return model->parameters().front().scalar_type(); }

Evaluator::Evaluator(EPTModel model, Complex complex, EvaluatorOptions options)
    : model_(std::move(model)), complex_(std::move(complex)), options_(options) {
  if (options_.skin < 0 || !std::isfinite(options_.skin))
    throw InputError("the neighbour-list skin must be a finite length ≥ 0 Å, got " + std::to_string(options_.skin));
  model_->to(options_.device, options_.dtype);
  model_->eval();
  model_->set_fused(options_.fused && options_.device.is_cpu());
  for (auto& p : model_->parameters()) p.set_requires_grad(false);  // gradients only with respect to positions
}

void Evaluator::set_positions(const std::vector<Vec3>& positions, const Box& box) {
  if (static_cast<int64_t>(positions.size()) != complex_.num_atoms())
    throw InputError(std::to_string(positions.size()) + " positions for a complex of " +
                     std::to_string(complex_.num_atoms()) + " atoms");
  for (size_t i = 0; i < positions.size(); ++i)
    for (double v : positions[i])
      if (!std::isfinite(v))
        throw InputError("atom " + std::to_string(i) + " has a non-finite position (NaN or inf)");
  const bool same = have_positions_ && positions == positions_ && box.periodic == box_.periodic &&
                    box.vectors == box_.vectors;
  if (same) return;
  positions_ = positions;
  box_ = box;
  have_positions_ = true;
  have_output_ = false;
  if (graph_is_stale()) rebuild_graph();
}

bool Evaluator::graph_is_stale() const {
  if (!have_graph_ || box_.periodic != graph_box_.periodic || box_.vectors != graph_box_.vectors) return true;
  const double limit = 0.25 * active_skin_ * active_skin_;
  for (size_t i = 0; i < positions_.size(); ++i) {
    double d2 = 0;
    for (int k = 0; k < 3; ++k) d2 += (positions_[i][k] - graph_positions_[i][k]) * (positions_[i][k] - graph_positions_[i][k]);
    if (d2 > limit) return true;
  }
  return false;
}

void Evaluator::rebuild_graph() {
  if (!have_positions_) throw InputError("the evaluator has no positions yet (call set_positions first)");
  GraphOptions graph_options = model_->config().graph_options(box_);
  double skin = options_.skin;
  if (box_.periodic) {  // keep cutoff + skin below half the box; the model's cutoff itself must fit
    const double half = 0.5 * std::min({box_.width(0), box_.width(1), box_.width(2)});
    skin = std::max(0.0, std::min(skin, 0.999 * half - graph_options.cutoff));
  }
  // Pairs in the skin weigh nothing only under the envelope: without it the graph is built for the cutoff itself.
  if (!graph_options.envelope) skin = 0;
  graph_options.cutoff += skin;
  const Graph graph = build_graph(complex_, positions_, graph_options);
  batch_ = make_batch({&complex_}, {&graph}, options_.dtype).to(options_.device);
  num_pairs_ = graph.num_pairs();
  graph_positions_ = positions_;
  graph_box_ = box_;
  active_skin_ = skin;
  have_graph_ = true;
  have_output_ = false;
  ++graph_builds_;
}

torch::Tensor Evaluator::position_tensor() const {
  if (!have_positions_) throw InputError("the evaluator has no positions yet (call set_positions first)");
  return vec3_tensor(positions_, options_.dtype).to(options_.device);
}

void Evaluator::keep(const ModelOutput& out) {
  // Only detached features: holding `out` would keep this step's autograd graph alive until the next.
  output_ = ModelOutput();
  output_.scalars = out.scalars.detach();
  output_.vectors = out.vectors.detach();
  output_.force = out.force.defined() ? out.force.detach() : torch::Tensor();
  output_.energy = out.energy.detach();
  have_output_ = true;
}

const ModelOutput& Evaluator::forward(bool force_head) {
  if (!have_output_ || (force_head && !output_.force.defined())) {
    torch::NoGradGuard no_grad;
    keep(model_->forward(batch_, position_tensor(), force_head));
  }
  return output_;
}

EnergyForces Evaluator::compute(OutputMode mode, bool with_forces) {
  EnergyForces result;
  torch::Tensor f;
  if (mode == OutputMode::Energy && with_forces) {
    auto x = position_tensor();
    x.set_requires_grad(true);
    torch::AutoGradMode grad_mode(true);
    const ModelOutput out = model_->forward(batch_, x, /*force_head=*/false);
    const auto energy = out.energy.sum();
    f = -torch::autograd::grad({energy}, {x})[0];
    keep(out);
  } else {
    const ModelOutput& out = forward(/*force_head=*/mode == OutputMode::Direct && with_forces);
    if (with_forces) f = out.force;
  }
  result.energy = output_.energy.sum().item<double>();
  if (with_forces) {
    f = f.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = f.data_ptr<double>();
    result.forces.resize(positions_.size());
    for (size_t i = 0; i < positions_.size(); ++i) result.forces[i] = {p[3 * i], p[3 * i + 1], p[3 * i + 2]};
  }
  return result;
}

torch::Tensor Evaluator::descriptors(DescriptorLevel level) {
  const ModelOutput& out = forward(/*force_head=*/false);
  return ept::descriptors(out, batch_, level, model_->config().vector_eps).to(torch::kCPU, torch::kFloat64).contiguous();
}

Collated collate(const std::vector<const Complex*>& complexes, const std::vector<std::vector<Vec3>>& positions,
                 const GraphOptions& options, torch::Dtype dtype) {
  if (complexes.size() != positions.size())
    throw InputError("collate needs one set of positions per complex");
  std::vector<Graph> graphs;
  std::vector<const Graph*> graph_ptrs;
  std::vector<Vec3> all;
  graphs.reserve(complexes.size());
  for (size_t c = 0; c < complexes.size(); ++c) {
    graphs.push_back(build_graph(*complexes[c], positions[c], options));
    all.insert(all.end(), positions[c].begin(), positions[c].end());
  }
  for (const auto& g : graphs) graph_ptrs.push_back(&g);
  return {make_batch(complexes, graph_ptrs, dtype), vec3_tensor(all, dtype)};
}

}  // namespace ept
