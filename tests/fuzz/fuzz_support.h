#pragma once
// Shared by the libFuzzer harnesses: readers that take a path get the input as a file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace ept::fuzz {

/// Writes the input to a file of this process (replaced at each call) and returns its path; `suffix` picks the
/// reader where the file name decides it (.pdb, .sdf).
inline std::string as_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/ept-fuzz-" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace ept::fuzz
