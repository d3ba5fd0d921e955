#ifndef REFERENCE_EPT_KERNELS_H_
#define REFERENCE_EPT_KERNELS_H_
// The EPTForce kernel for the Reference platform, also registered for CPU (CpuPlatform is a ReferencePlatform
// and keeps positions and forces in the same place).
#include <memory>
#include <string>
#include <vector>

#include "EPTKernels.h"

namespace EPTPlugin {

class ReferenceCalcEPTForceKernel : public CalcEPTForceKernel {
 public:
  ReferenceCalcEPTForceKernel(const std::string& name, const OpenMM::Platform& platform);
  ~ReferenceCalcEPTForceKernel() override;
  void initialize(const OpenMM::System& system, const EPTForce& force) override;
  double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
  std::vector<double> getDescriptors(OpenMM::ContextImpl& context, ept::DescriptorLevel level) override;

 private:
  struct State;  // the model and its tensors: kept out of this header so it needs no torch
  std::unique_ptr<State> state_;
};

}  // namespace EPTPlugin

#endif
