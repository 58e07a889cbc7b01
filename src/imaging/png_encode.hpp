#pragma once
// PNG writing across cores, the way pigz does it: the SUB-filtered rows are cut into strips of a
// fixed size, each strip is deflated on its own (primed with the 32 KiB before it) and ended on a
// byte boundary with a sync flush, so the strips simply concatenate into one valid zlib stream; the
// Adler-32 of the whole comes from adler32_combine. Each strip is one IDAT chunk. The strips do not
// depend on the thread count, so the bytes are the same on every machine.

#include <string>

#include <opencv2/core.hpp>

namespace cutout::imaging::detail {

// Raw (filtered) bytes per strip. Measured on a 12 MP photo cut-out (docs/performance.md, "PNG"):
// strips of this size cost under 0.1% in file size against one stream.
constexpr std::size_t kPngStripBytes = 256 * 1024;

// `image`: CV_8UC1 (gray), CV_8UC3 (BGR) or CV_8UC4 (BGRA), 8-bit, any step. `level`: zlib 0..9.
// Returns a PNG of colour type 0, 2 or 6, 8 bits, no interlace, every row with the SUB filter.
// Throws cutout::Error Internal if zlib fails. `strip_bytes` is for tests.
std::string encode_png(const cv::Mat& image, int level, std::size_t strip_bytes = kPngStripBytes);

}  // namespace cutout::imaging::detail
