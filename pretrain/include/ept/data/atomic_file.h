#pragma once
// Whole-file writes that never leave a half-written file: write a temporary beside the target, fsync, rename.
#include <string>

namespace ept {

/// Replaces `path` with `bytes` atomically. Throws ept::Error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Throws ept::Error naming `path` unless write_file_atomically could write it now (its folder exists and takes
/// new files): a check before long work whose result goes there.
void check_writable(const std::string& path);

/// The whole file; throws ept::Error naming the path if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace ept
