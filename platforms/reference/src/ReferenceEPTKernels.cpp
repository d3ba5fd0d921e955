#include "ReferenceEPTKernels.h"

#include <torch/autograd.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>

#include "ept/allocator.h"
#include "ept/batch.h"
#include "ept/checkpoint.h"
#include "ept/descriptors.h"
#include "ept/error.h"
#include "ept/graph.h"
#include "ept/molecule.h"
#include "internal/EPTComplex.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

using namespace OpenMM;

namespace EPTPlugin {
namespace {

constexpr double kAngstromPerNm = 10.0;

ReferencePlatform::PlatformData& platform_data(ContextImpl& context) {
  return *static_cast<ReferencePlatform::PlatformData*>(context.getPlatformData());
}

}  // namespace

struct ReferenceCalcEPTForceKernel::State {
  ept::EPTModel model{nullptr};
  ept::Complex complex;
  std::vector<int> particles;  // System index of each ML atom
  torch::Dtype dtype = torch::kFloat32;
  EPTForce::OutputMode mode = EPTForce::Energy;
  double scale = 1.0;
  std::string parameter;
  bool derivative = false, periodic = false;
  double skin = 0.5;         // Å, as configured
  double active_skin = 0.5;  // Å, what the current list was built with (a small periodic box may shrink it)
  // The graph is built for cutoff + skin and reused until some atom moved half the skin (pairs beyond the
  // cutoff carry zero weight, so the result is the same as with a fresh graph).
  bool have_graph = false;
  std::vector<ept::Vec3> graph_positions;
  ept::Box graph_box;
  ept::Batch batch;
  // The last evaluation, kept for descriptors of unchanged positions.
  std::vector<double> evaluated_positions;
  ept::ModelOutput evaluated;

  /// ML-atom positions in Å (flat xyz) and the box, from the context; throws on non-finite coordinates.
  std::vector<double> read_positions(ContextImpl& context, ept::Box& box) {
    ReferencePlatform::PlatformData& data = platform_data(context);
    const std::vector<Vec3>& positions = *data.positions;
    std::vector<double> flat(3 * particles.size());
    for (size_t k = 0; k < particles.size(); ++k) {
      const Vec3& p = positions[particles[k]];
      if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2]))
        throw OpenMMException("EPTForce: particle " + std::to_string(particles[k]) +
                              " has a non-finite position (NaN or inf); the simulation has probably blown up");
      for (int d = 0; d < 3; ++d) flat[3 * k + d] = p[d] * kAngstromPerNm;
    }
    box = ept::Box();
    if (periodic) {
      const Vec3* v = data.periodicBoxVectors;
      box = ept::Box::triclinic({v[0][0] * kAngstromPerNm, v[0][1] * kAngstromPerNm, v[0][2] * kAngstromPerNm},
                                {v[1][0] * kAngstromPerNm, v[1][1] * kAngstromPerNm, v[1][2] * kAngstromPerNm},
                                {v[2][0] * kAngstromPerNm, v[2][1] * kAngstromPerNm, v[2][2] * kAngstromPerNm});
    }
    std::vector<ept::Vec3> x(particles.size());
    for (size_t k = 0; k < particles.size(); ++k) x[k] = {flat[3 * k], flat[3 * k + 1], flat[3 * k + 2]};
    try {
      if (graph_is_stale(x, box)) rebuild_graph(x, box);
    } catch (const std::exception& e) {
      throw OpenMMException(std::string("EPTForce: ") + e.what());
    }
    return flat;
  }

  /// Runs the model on `flat` positions (Å); `gradient` lets autograd differentiate with respect to them.
  std::pair<ept::ModelOutput, torch::Tensor> forward(std::vector<double>& flat, bool gradient) {
    auto x = torch::from_blob(flat.data(), {static_cast<int64_t>(particles.size()), 3}, torch::kFloat64).to(dtype);
    x.set_requires_grad(gradient);
    torch::AutoGradMode grad_mode(gradient);
    ept::ModelOutput out = model->forward(batch, x);
    // Keep only detached features: holding `out` would keep this step's autograd graph alive until the next.
    evaluated_positions = flat;
    evaluated = ept::ModelOutput();
    evaluated.scalars = out.scalars.detach();
    evaluated.vectors = out.vectors.detach();
    return {out, x};
  }

  bool graph_is_stale(const std::vector<ept::Vec3>& x, const ept::Box& box) const {
    if (!have_graph || box.periodic != graph_box.periodic || box.vectors != graph_box.vectors) return true;
    if (model->config().attention == ept::AttentionMode::Dense) return false;  // all pairs, no distances
    const double limit = 0.25 * active_skin * active_skin;
    for (size_t i = 0; i < x.size(); ++i) {
      const double dx = x[i][0] - graph_positions[i][0], dy = x[i][1] - graph_positions[i][1],
                   dz = x[i][2] - graph_positions[i][2];
      if (dx * dx + dy * dy + dz * dz > limit) return true;
    }
    return false;
  }

  void rebuild_graph(const std::vector<ept::Vec3>& x, const ept::Box& box) {
    ept::GraphOptions options = model->config().graph_options(box);
    double list_skin = skin;
    if (box.periodic) {  // keep cutoff + skin below half the box; the model's cutoff itself must fit
      const double half = 0.5 * std::min({box.width(0), box.width(1), box.width(2)});
      list_skin = std::max(0.0, std::min(skin, 0.999 * half - options.cutoff));
    }
    if (options.mode == ept::AttentionMode::Sparse) options.cutoff += list_skin;
    const ept::Graph graph = ept::build_graph(complex, x, options);
    batch = ept::make_batch({&complex}, {&graph}, dtype);
    graph_positions = x;
    graph_box = box;
    active_skin = options.mode == ept::AttentionMode::Sparse ? list_skin : 0.0;
    have_graph = true;
  }
};

ReferenceCalcEPTForceKernel::ReferenceCalcEPTForceKernel(const std::string& name, const Platform& platform)
    : CalcEPTForceKernel(name, platform), state_(std::make_unique<State>()) {}

ReferenceCalcEPTForceKernel::~ReferenceCalcEPTForceKernel() = default;

void ReferenceCalcEPTForceKernel::initialize(const System& system, const EPTForce& force) {
  State& s = *state_;
  const int num_particles = system.getNumParticles();
  s.particles = force.getAtoms();
  if (s.particles.empty())
    for (int i = 0; i < num_particles; ++i) s.particles.push_back(i);
  for (size_t k = 0; k < s.particles.size(); ++k)
    if (s.particles[k] >= num_particles)
      throw OpenMMException("EPTForce: atom " + std::to_string(k) + " is particle " + std::to_string(s.particles[k]) +
                            ", but the System has " + std::to_string(num_particles) + " particles");
  if (force.getAtomicNumbers().size() != s.particles.size())
    throw OpenMMException("EPTForce: chemistry was given for " + std::to_string(force.getAtomicNumbers().size()) +
                          " atoms but the force acts on " + std::to_string(s.particles.size()) +
                          "; call setChemistry with one entry per ML atom");
  if (force.getOutputMode() == EPTForce::Direct && force.hasEnergyParameterDerivative())
    throw OpenMMException("EPTForce: an energy parameter derivative was requested in direct mode, where the forces "
                          "are not the gradient of an energy; use the Energy output mode");
  const auto& props = force.getProperties();
  s.complex = buildComplex(force);
  try {
    s.model = ept::load_checkpoint_bytes(force.getModelBytes(), "EPTForce model " + force.getModelChecksum());
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
  s.dtype = props.at("precision") == "float64" ? torch::kFloat64 : torch::kFloat32;
  s.model->to(s.dtype);
  s.model->eval();
  for (auto& p : s.model->parameters()) p.set_requires_grad(false);  // gradients only with respect to positions
  torch::set_num_threads(std::stoi(props.at("threads")));
  ept::tune_allocator();
  s.skin = std::stod(props.at("neighborSkin")) * kAngstromPerNm;
  s.mode = force.getOutputMode();
  s.scale = force.getEnergyScale();
  s.parameter = force.getGlobalParameterName();
  s.derivative = force.hasEnergyParameterDerivative();
  s.periodic = force.usesPeriodicBoundaryConditions();
}

double ReferenceCalcEPTForceKernel::execute(ContextImpl& context, bool includeForces, bool includeEnergy) {
  State& s = *state_;
  ept::Box box;
  std::vector<double> flat = s.read_positions(context, box);
  const double lambda = s.parameter.empty() ? 1.0 : context.getParameter(s.parameter);
  const double factor = s.scale * lambda;
  const bool gradient = includeForces && s.mode == EPTForce::Energy;
  auto [out, x] = s.forward(flat, gradient);
  const auto energy = out.energy.sum();
  const double model_energy = energy.item<double>();
  ReferencePlatform::PlatformData& data = platform_data(context);
  if (includeForces) {
    torch::Tensor f = gradient ? -torch::autograd::grad({energy}, {x})[0] : out.force;
    f = (f.detach().to(torch::kFloat64) * (factor * kAngstromPerNm)).contiguous();  // kJ/mol/Å -> kJ/mol/nm
    const double* fp = f.data_ptr<double>();
    std::vector<Vec3>& forces = *data.forces;
    for (size_t k = 0; k < s.particles.size(); ++k) forces[s.particles[k]] += Vec3(fp[3 * k], fp[3 * k + 1], fp[3 * k + 2]);
  }
  if (s.derivative) (*data.energyParameterDerivatives)[s.parameter] += s.scale * model_energy;
  return includeEnergy ? factor * model_energy : 0.0;
}

std::vector<double> ReferenceCalcEPTForceKernel::getDescriptors(ContextImpl& context, int level) {
  State& s = *state_;
  ept::Box box;
  std::vector<double> flat = s.read_positions(context, box);
  if (flat != s.evaluated_positions || !s.evaluated.scalars.defined()) s.forward(flat, false);
  const auto rows = ept::descriptors(s.evaluated, s.batch, static_cast<ept::DescriptorLevel>(level),
                                     s.model->config().vector_eps)
                        .to(torch::kFloat64)
                        .contiguous();
  return std::vector<double>(rows.data_ptr<double>(), rows.data_ptr<double>() + rows.numel());
}

}  // namespace EPTPlugin
