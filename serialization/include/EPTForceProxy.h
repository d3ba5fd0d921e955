#ifndef EPT_FORCE_PROXY_H_
#define EPT_FORCE_PROXY_H_
// XML serialization of EPTForce: every setting, and the model's bytes (base64) with their checksum, so a
// serialized System needs no model file.
#include "openmm/serialization/SerializationProxy.h"

namespace EPTPlugin {

class EPTForceProxy : public OpenMM::SerializationProxy {
 public:
  EPTForceProxy();
  void serialize(const void* object, OpenMM::SerializationNode& node) const override;
  void* deserialize(const OpenMM::SerializationNode& node) const override;
};

}  // namespace EPTPlugin

#endif
