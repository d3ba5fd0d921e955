#ifndef EPT_FORCE_IMPL_H_
#define EPT_FORCE_IMPL_H_
#include <map>
#include <string>
#include <vector>

#include "EPTForce.h"
#include "openmm/Kernel.h"
#include "openmm/internal/ForceImpl.h"

namespace EPTPlugin {

class EPTForceImpl : public OpenMM::ForceImpl {
 public:
  explicit EPTForceImpl(const EPTForce& owner) : owner_(owner) {}
  void initialize(OpenMM::ContextImpl& context) override;
  const EPTForce& getOwner() const override { return owner_; }
  void updateContextState(OpenMM::ContextImpl&, bool&) override {}
  double calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy, int groups) override;
  std::map<std::string, double> getDefaultParameters() override;
  std::vector<std::string> getKernelNames() override;
  std::vector<double> getDescriptors(OpenMM::ContextImpl& context, ept::DescriptorLevel level);

 private:
  const EPTForce& owner_;
  OpenMM::Kernel kernel_;
};

}  // namespace EPTPlugin

#endif
