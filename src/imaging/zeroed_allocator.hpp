#pragma once
// An OpenCV allocator whose buffers start zeroed: the second guard (after each decoder's own error
// check) against ever returning memory a decoder did not fill. It uses calloc, so a large buffer
// comes straight from fresh (already zero) pages and costs no extra pass over the memory.

#include <opencv2/core.hpp>

namespace cutout::imaging::detail {

// One process-wide instance, never destroyed (Mats that outlive main may still point at it).
cv::MatAllocator* zeroed_allocator();

// An empty Mat that will allocate through zeroed_allocator() when created (also by cv::imdecode).
inline cv::Mat zeroed_mat() {
  cv::Mat mat;
  mat.allocator = zeroed_allocator();
  return mat;
}

// A zeroed rows x cols Mat of `type`, allocated through zeroed_allocator().
inline cv::Mat zeroed_mat(int rows, int cols, int type) {
  cv::Mat mat = zeroed_mat();
  mat.create(rows, cols, type);
  return mat;
}

}  // namespace cutout::imaging::detail
