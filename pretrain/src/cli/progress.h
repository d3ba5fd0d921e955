#pragma once
// A one-line progress bar on stderr: done/total, rate and time left; quiet when stderr is not a terminal
// except for the final line.
#include <chrono>
#include <string>

namespace ept::cli {

class Progress {
 public:
  Progress(std::string what, int64_t total);
  void update(int64_t done);
  void finish();

 private:
  std::string what_;
  int64_t total_, done_ = 0;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ept::cli
