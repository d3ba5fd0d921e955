// Checkpoint bytes of any shape: a model or a CheckpointError, nothing else (no crash, no other exception).
#include <cstdint>
#include <string>

#include "ept/model/checkpoint.h"
#include "ept/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ept::load_checkpoint_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
  } catch (const ept::Error&) {
  }
  return 0;
}
