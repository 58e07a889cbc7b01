// cv::StdMatAllocator's logic (OpenCV 4.6, modules/core/src/matrix.cpp) with calloc for malloc.

#include "zeroed_allocator.hpp"

#include <cstdlib>

namespace cutout::imaging::detail {
namespace {

constexpr size_t kAutoStep = 0x7fffffff;  // CV_AUTOSTEP, from OpenCV's C API headers

class ZeroedAllocator final : public cv::MatAllocator {
 public:
  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step,
                         cv::AccessFlag, cv::UMatUsageFlags) const override {
    size_t total = CV_ELEM_SIZE(type);
    for (int i = dims - 1; i >= 0; --i) {
      if (step) {
        if (data && step[i] != kAutoStep) {
          total = step[i];
        } else {
          step[i] = total;
        }
      }
      total *= static_cast<size_t>(sizes[i]);
    }
    auto* bytes = static_cast<uchar*>(data ? data : std::calloc(total ? total : 1, 1));
    if (!bytes) CV_Error_(cv::Error::StsNoMem, ("failed to allocate %zu bytes", total));
    auto* u = new cv::UMatData(this);
    u->data = u->origdata = bytes;
    u->size = total;
    if (data) u->flags |= cv::UMatData::USER_ALLOCATED;
    return u;
  }

  bool allocate(cv::UMatData* u, cv::AccessFlag, cv::UMatUsageFlags) const override {
    return u != nullptr;
  }

  void deallocate(cv::UMatData* u) const override {
    if (!u) return;
    CV_Assert(u->urefcount == 0 && u->refcount == 0);
    if (!(u->flags & cv::UMatData::USER_ALLOCATED)) std::free(u->origdata);
    delete u;
  }
};

}  // namespace

cv::MatAllocator* zeroed_allocator() {
  static auto* const allocator = new ZeroedAllocator;  // never destroyed, see the header
  return allocator;
}

}  // namespace cutout::imaging::detail
