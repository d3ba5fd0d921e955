#pragma once
// Errors raised by libept. Each names the bad input and, where it can, what to do about it.
#include <stdexcept>
#include <string>

namespace ept {

/// Base of every error the library raises on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Inconsistent or unsupported molecular input (arrays, files, elements).
class InputError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint file that cannot be used; `kind()` tells why.
class CheckpointError : public Error {
 public:
  enum class Kind { Missing, Foreign, WrongVersion, Truncated, Corrupt, Incompatible, NonFinite, Io };
  CheckpointError(Kind kind, const std::string& path, const std::string& detail);
  Kind kind() const { return kind_; }
  const std::string& path() const { return path_; }

 private:
  Kind kind_;
  std::string path_;
};

const char* to_string(CheckpointError::Kind kind);

}  // namespace ept
