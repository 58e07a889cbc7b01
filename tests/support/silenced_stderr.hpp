#pragma once
// Sends stderr to /dev/null while alive. For tests that feed hundreds of broken files to decoders
// (OpenCV, libpng, libtiff print every failure), which would bury the test report. A sanitizer
// report is lost too while this is alive, but it still fails the run.

#include <fcntl.h>
#include <unistd.h>

namespace cutout::testing {

class SilencedStderr {
 public:
  SilencedStderr() : saved_(dup(STDERR_FILENO)) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, STDERR_FILENO);
      close(null);
    }
  }
  ~SilencedStderr() {
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);
      close(saved_);
    }
  }
  SilencedStderr(const SilencedStderr&) = delete;
  SilencedStderr& operator=(const SilencedStderr&) = delete;

 private:
  int saved_;
};

}  // namespace cutout::testing
