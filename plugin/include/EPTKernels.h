#ifndef EPT_KERNELS_H_
#define EPT_KERNELS_H_
// Kernel interface of EPTForce; platforms implement it.
#include <string>
#include <vector>

#include "EPTForce.h"
#include "openmm/KernelImpl.h"
#include "openmm/Platform.h"
#include "openmm/System.h"

namespace EPTPlugin {

class CalcEPTForceKernel : public OpenMM::KernelImpl {
 public:
  static std::string Name() { return "CalcEPTForce"; }
  CalcEPTForceKernel(const std::string& name, const OpenMM::Platform& platform) : OpenMM::KernelImpl(name, platform) {}
  /// Loads the model and builds the block graph of the ML atoms (the topology never changes afterwards).
  virtual void initialize(const OpenMM::System& system, const EPTForce& force) = 0;
  /// Adds forces (if asked) and returns the energy in kJ/mol.
  virtual double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) = 0;
  /// Descriptors of the context's positions, row-major.
  virtual std::vector<double> getDescriptors(OpenMM::ContextImpl& context, ept::DescriptorLevel level) = 0;
};

}  // namespace EPTPlugin

#endif
