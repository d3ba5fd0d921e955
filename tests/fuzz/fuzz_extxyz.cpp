// Extended XYZ (`ept import`): configurations whose atom lists agree with their atom counts, or an InputError
// naming the file and line.
#include "ept/data/extxyz.h"
#include "ept/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    for (const auto& f : ept::parse_extxyz(std::string(reinterpret_cast<const char*>(data), size), "fuzz.xyz")) {
      if (f.atomic_numbers.size() != f.positions.size() || f.atomic_numbers.empty()) __builtin_trap();
      for (const auto& [name, values] : f.columns)
        if (values.size() != f.atomic_numbers.size() * static_cast<size_t>(f.widths.at(name))) __builtin_trap();
    }
  } catch (const ept::Error&) {
  }
  return 0;
}
