#include "internal/EPTForceImpl.h"

#include "EPTKernels.h"
#include "openmm/internal/ContextImpl.h"

namespace EPTPlugin {

void EPTForceImpl::initialize(OpenMM::ContextImpl& context) {
  kernel_ = context.getPlatform().createKernel(CalcEPTForceKernel::Name(), context);
  kernel_.getAs<CalcEPTForceKernel>().initialize(context.getSystem(), owner_);
}

double EPTForceImpl::calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy,
                                         int groups) {
  if ((groups & (1 << owner_.getForceGroup())) == 0) return 0.0;
  return kernel_.getAs<CalcEPTForceKernel>().execute(context, includeForces, includeEnergy);
}

std::map<std::string, double> EPTForceImpl::getDefaultParameters() {
  std::map<std::string, double> parameters;
  if (!owner_.getGlobalParameterName().empty())
    parameters[owner_.getGlobalParameterName()] = owner_.getGlobalParameterDefault();
  return parameters;
}

std::vector<double> EPTForceImpl::getDescriptors(OpenMM::ContextImpl& context, ept::DescriptorLevel level) {
  return kernel_.getAs<CalcEPTForceKernel>().getDescriptors(context, level);
}

std::vector<std::string> EPTForceImpl::getKernelNames() { return {CalcEPTForceKernel::Name()}; }

}  // namespace EPTPlugin
