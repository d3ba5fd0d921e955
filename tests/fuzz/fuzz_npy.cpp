// .npy arrays (frames for `ept label`): an array whose size matches its shape, or an InputError naming the file.
#include "ept/error.h"
#include "ept/data/npy.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ept::fuzz::as_file(data, size, ".npy");
  try {
    const ept::NpyArray a = ept::load_npy(path);
    size_t count = 1;
    for (int64_t d : a.shape) count *= static_cast<size_t>(d);
    if (count != a.data.size()) __builtin_trap();
  } catch (const ept::Error&) {
  }
  return 0;
}
