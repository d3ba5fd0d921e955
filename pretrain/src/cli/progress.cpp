#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace ept::cli {

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), terminal_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (!terminal_ || now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done / seconds : 0;
  const int width = 30;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : 0;
  std::string bar(filled, '#');
  bar.append(width - filled, ' ');
  if (total_ > 0)
    std::fprintf(stderr, "\r[%s] %lld/%lld %s, %.1f/s, %.0f s left ", bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), what_.c_str(), rate, rate > 0 ? (total_ - done) / rate : 0.0);
  else
    std::fprintf(stderr, "\r%lld %s, %.1f/s ", static_cast<long long>(done), what_.c_str(), rate);
}

void Progress::finish() {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%lld %s in %.1f s (%.1f/s)\n", terminal_ ? "\r" : "", static_cast<long long>(done_),
               what_.c_str(), seconds, seconds > 0 ? done_ / seconds : 0.0);
}

}  // namespace ept::cli
