#include "ReferenceEPTKernels.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "ept/model/allocator.h"
#include "ept/model/checkpoint.h"
#include "ept/model/evaluator.h"
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

// The Context's thread count for the duration of one evaluation (LibTorch's count is process-wide).
class ThreadScope {
 public:
  explicit ThreadScope(int threads) {
    if (threads > 0 && threads != at::get_num_threads()) previous_ = at::get_num_threads(), at::set_num_threads(threads);
  }
  ~ThreadScope() {
    if (previous_ > 0) at::set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_ = 0;
};

template <typename F>
auto rethrow(F&& f) {
  try {
    return f();
  } catch (const OpenMMException&) {
    throw;
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
}

}  // namespace

// Plumbing only: positions from the context into the library's evaluator, forces back.
struct ReferenceCalcEPTForceKernel::State {
  std::unique_ptr<ept::Evaluator> evaluator;
  std::vector<int> particles;  // System index of each ML atom
  ept::OutputMode mode = ept::OutputMode::Energy;
  double scale = 1.0;
  std::string parameter;
  bool derivative = false, periodic = false;
  int threads = 0;

  void set_positions(ContextImpl& context) {
    ReferencePlatform::PlatformData& data = platform_data(context);
    const std::vector<Vec3>& positions = *data.positions;
    std::vector<ept::Vec3> x(particles.size());
    for (size_t k = 0; k < particles.size(); ++k) {
      const Vec3& p = positions[particles[k]];
      if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2]))
        throw OpenMMException("EPTForce: particle " + std::to_string(particles[k]) +
                              " has a non-finite position (NaN or inf); the simulation has probably blown up");
      x[k] = {p[0] * kAngstromPerNm, p[1] * kAngstromPerNm, p[2] * kAngstromPerNm};
    }
    ept::Box box;
    if (periodic) {
      const Vec3* v = data.periodicBoxVectors;
      auto a = [&](int i) { return ept::Vec3{v[i][0] * kAngstromPerNm, v[i][1] * kAngstromPerNm, v[i][2] * kAngstromPerNm}; };
      box = ept::Box::triclinic(a(0), a(1), a(2));
    }
    rethrow([&] { evaluator->set_positions(x, box); return 0; });
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
  if (force.getOutputMode() == ept::OutputMode::Direct && force.hasEnergyParameterDerivative())
    throw OpenMMException("EPTForce: an energy parameter derivative was requested in direct mode, where the forces "
                          "are not the gradient of an energy; use the Energy output mode");
  const auto& props = force.getProperties();
  ept::EvaluatorOptions options;
  options.dtype = props.at("precision") == "float64" ? torch::kFloat64 : torch::kFloat32;
  options.skin = std::stod(props.at("neighborSkin")) * kAngstromPerNm;
  options.fused = props.at("implementation") == "fused";
  ept::Complex complex = buildComplex(force);
  s.evaluator = rethrow([&] {
    ept::EPTModel model = ept::load_checkpoint_bytes(force.getModelBytes(), "EPTForce model " + force.getModelChecksum());
    return std::make_unique<ept::Evaluator>(model, std::move(complex), options);
  });
  s.threads = std::stoi(props.at("threads"));
  ept::tune_allocator_if_requested();  // process-wide, only when asked for (see ept/model/allocator.h)
  s.mode = force.getOutputMode();
  s.scale = force.getEnergyScale();
  s.parameter = force.getGlobalParameterName();
  s.derivative = force.hasEnergyParameterDerivative();
  s.periodic = force.usesPeriodicBoundaryConditions();
}

double ReferenceCalcEPTForceKernel::execute(ContextImpl& context, bool includeForces, bool includeEnergy) {
  State& s = *state_;
  s.set_positions(context);
  const double lambda = s.parameter.empty() ? 1.0 : context.getParameter(s.parameter);
  const double factor = s.scale * lambda;
  const ept::EnergyForces ef = rethrow([&] {
    ThreadScope threads(s.threads);
    return s.evaluator->compute(s.mode, includeForces);
  });
  ReferencePlatform::PlatformData& data = platform_data(context);
  if (includeForces) {
    std::vector<Vec3>& forces = *data.forces;
    const double f = factor * kAngstromPerNm;  // kJ/mol/Å -> kJ/mol/nm
    for (size_t k = 0; k < s.particles.size(); ++k)
      forces[s.particles[k]] += Vec3(ef.forces[k][0] * f, ef.forces[k][1] * f, ef.forces[k][2] * f);
  }
  if (s.derivative) (*data.energyParameterDerivatives)[s.parameter] += s.scale * ef.energy;
  return includeEnergy ? factor * ef.energy : 0.0;
}

std::vector<double> ReferenceCalcEPTForceKernel::getDescriptors(ContextImpl& context, ept::DescriptorLevel level) {
  State& s = *state_;
  s.set_positions(context);
  const torch::Tensor rows = rethrow([&] {
    ThreadScope threads(s.threads);
    return s.evaluator->descriptors(level);
  });
  return std::vector<double>(rows.data_ptr<double>(), rows.data_ptr<double>() + rows.numel());
}

}  // namespace EPTPlugin
