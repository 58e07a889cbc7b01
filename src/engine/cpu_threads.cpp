#include "cutout/engine/cpu_threads.hpp"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include "cutout/core/error.hpp"

namespace cutout::engine {

void set_cpu_threads(int threads) {
  try {
    at::set_num_threads(threads);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "cpu_threads", "LibTorch refused the CPU thread count",
                e.what_without_backtrace());
  }
  // OpenBLAS (Debian's libblas.so.3 alternative that setup.sh installs) sizes its pool from the
  // host's cores and LibTorch does not tell it otherwise. Looked up at run time: the binary does
  // not link OpenBLAS itself, and another BLAS simply has no such symbol.
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}

int cpu_threads() { return at::get_num_threads(); }

}  // namespace cutout::engine
