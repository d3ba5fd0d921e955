// DCD trajectories: frames, a clean end, a truncated tail, or an InputError naming the file.
#include "ept/data/dcd.h"
#include "ept/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ept::fuzz::as_file(data, size, ".dcd");
  try {
    ept::DcdReader reader(path);
    ept::DcdFrame frame;
    for (int k = 0; k < 64 && reader.read(frame); ++k) {
    }
  } catch (const ept::Error&) {
  }
  return 0;
}
