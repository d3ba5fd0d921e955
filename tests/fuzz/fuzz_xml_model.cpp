// The model payload of EPTForce XML: whatever bytes are embedded (base64 of the input, or with a first byte of 0
// the input as the attribute's text itself), XmlSerializer gives an EPTForce or an OpenMMException.
#include <sstream>
#include <string>

#include "EPTForce.h"
#include "ept/data/base64.h"
#include "openmm/OpenMMException.h"
#include "openmm/serialization/XmlSerializer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string model = data[0] == 0 ? bytes : ept::base64_encode(bytes);
  std::string escaped;  // attribute text: markup characters escaped, as a writer would
  for (char c : model) {
    if (c == '"') escaped += "&quot;";
    else if (c == '&') escaped += "&amp;";
    else if (c == '<') escaped += "&lt;";
    else escaped += c;
  }
  std::istringstream xml("<?xml version=\"1.0\" ?>\n<Force type=\"EPTForce\" version=\"1\" energyDerivative=\"0\" "
                         "energyScale=\"1\" forceGroup=\"0\" globalParameter=\"\" globalParameterDefault=\"1\" "
                         "model=\"" + escaped + "\" modelChecksum=\"00000000\" name=\"EPTForce\" outputMode=\"0\" "
                         "periodic=\"0\"><Properties/><Atoms/><Chemistry/><Bonds/></Force>\n");
  try {
    delete OpenMM::XmlSerializer::deserialize<OpenMM::Force>(xml);
  } catch (const OpenMM::OpenMMException&) {
  }
  return 0;
}
