#include "png_encode.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <zlib.h>

#include "cutout/core/error.hpp"
#include "cutout/core/parallel.hpp"

namespace cutout::imaging::detail {
namespace {

constexpr std::size_t kWindow = 32768;  // deflate's history: what a strip is primed with
constexpr unsigned char kSubFilter = 1;

[[noreturn]] void fail(const char* what) {
  throw Error(ErrorKind::Internal, "encode_failed", std::string("encode: png: ") + what);
}

void put32(unsigned char* out, std::uint32_t value) {
  out[0] = static_cast<unsigned char>(value >> 24);
  out[1] = static_cast<unsigned char>(value >> 16);
  out[2] = static_cast<unsigned char>(value >> 8);
  out[3] = static_cast<unsigned char>(value);
}

// One row as PNG wants it: the filter byte, then each byte minus the same channel of the pixel to
// its left, in RGB(A) order. C is the channel count; BGR(A) is swapped while filtering.
template <int C>
void sub_filter_row(const unsigned char* src, int width, unsigned char* out) {
  constexpr int kOrder[4] = {C >= 3 ? 2 : 0, 1, 0, 3};  // output channel k reads source kOrder[k]
  *out++ = kSubFilter;
  for (int k = 0; k < C; ++k) out[k] = src[kOrder[k]];
  for (int x = 1; x < width; ++x) {
    const unsigned char* p = src + x * C;
    unsigned char* o = out + x * C;
    for (int k = 0; k < C; ++k) o[k] = static_cast<unsigned char>(p[kOrder[k]] - p[kOrder[k] - C]);
  }
}

void filter_row(const cv::Mat& image, int y, unsigned char* out) {
  const unsigned char* src = image.ptr<unsigned char>(y);
  switch (image.channels()) {
    case 1: sub_filter_row<1>(src, image.cols, out); break;
    case 3: sub_filter_row<3>(src, image.cols, out); break;
    default: sub_filter_row<4>(src, image.cols, out); break;
  }
}

// The zlib header (RFC 1950) zlib itself would write for `level`, with a 32 KiB window.
std::uint16_t zlib_header(int level) {
  const unsigned flevel = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
  unsigned header = (0x78u << 8) | (flevel << 6);
  header += 31 - header % 31;
  return static_cast<std::uint16_t>(header);
}

struct Strip {
  int first_row = 0, end_row = 0;
  std::string deflated;   // raw deflate, ended by a sync flush (or the final block)
  std::uint32_t adler = 0;  // of this strip's filtered bytes
  uLong raw_bytes = 0;
  uLong crc = 0;            // CRC-32 of `deflated`, combined into its chunk's CRC later
};

// Deflates strips [begin, end) with one z_stream, reset between strips.
void deflate_strips(const cv::Mat& image, int level, std::vector<Strip>& strips, std::int64_t begin,
                    std::int64_t end) {
  const std::size_t row_bytes = static_cast<std::size_t>(image.cols) * image.channels() + 1;
  const int prime_rows = static_cast<int>((kWindow + row_bytes - 1) / row_bytes);
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail("deflateInit2");
  const std::unique_ptr<z_stream, int (*)(z_stream*)> release(&z, deflateEnd);
  std::vector<unsigned char> rows;
  for (std::int64_t i = begin; i < end; ++i) {
    Strip& strip = strips[static_cast<std::size_t>(i)];
    // The rows before the strip that fill deflate's window, filtered again (it costs little), so
    // matches may reach back into the previous strip as they would in one stream.
    const int primed_from = std::max(0, strip.first_row - prime_rows);
    rows.resize(row_bytes * static_cast<std::size_t>(strip.end_row - primed_from));
    for (int y = primed_from; y < strip.end_row; ++y) {
      filter_row(image, y, rows.data() + row_bytes * static_cast<std::size_t>(y - primed_from));
    }
    const std::size_t prefix = row_bytes * static_cast<std::size_t>(strip.first_row - primed_from);
    const std::size_t dictionary = std::min(prefix, kWindow);
    if (i != begin && deflateReset(&z) != Z_OK) fail("deflateReset");
    if (dictionary > 0 &&
        deflateSetDictionary(&z, rows.data() + prefix - dictionary, static_cast<uInt>(dictionary)) != Z_OK) {
      fail("deflateSetDictionary");
    }
    unsigned char* input = rows.data() + prefix;
    const std::size_t length = rows.size() - prefix;
    strip.raw_bytes = static_cast<uLong>(length);
    strip.adler = static_cast<std::uint32_t>(adler32(adler32(0, nullptr, 0), input, static_cast<uInt>(length)));
    // The bound plus room for the sync flush's empty stored block; grown if ever too small.
    strip.deflated.resize(deflateBound(&z, static_cast<uLong>(length)) + 16);
    z.next_in = input;
    z.avail_in = static_cast<uInt>(length);
    const bool last = static_cast<std::size_t>(i) + 1 == strips.size();
    const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    std::size_t written = 0;
    for (;;) {
      z.next_out = reinterpret_cast<Bytef*>(strip.deflated.data() + written);
      z.avail_out = static_cast<uInt>(strip.deflated.size() - written);
      const int status = deflate(&z, flush);
      written = strip.deflated.size() - z.avail_out;
      if (status == Z_STREAM_END || (status == Z_OK && z.avail_out > 0 && z.avail_in == 0 && !last)) {
        break;
      }
      if (status != Z_OK && status != Z_BUF_ERROR) fail("deflate");
      strip.deflated.resize(strip.deflated.size() * 2);
    }
    strip.deflated.resize(written);
    strip.crc = crc32_z(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(strip.deflated.data()),
                        strip.deflated.size());
  }
}

void append_bytes(std::string& out, const unsigned char* bytes, std::size_t size) {
  out.append(reinterpret_cast<const char*>(bytes), size);
}

void append32(std::string& out, std::uint32_t value) {
  unsigned char bytes[4];
  put32(bytes, value);
  append_bytes(out, bytes, 4);
}

// A chunk: length, type, `head` + `body` + `tail`, CRC-32 of type and data. `body_crc` is the
// CRC-32 of `body` alone (computed in parallel by the strips), combined in here.
void append_chunk(std::string& out, const char type[4], const std::string& head, const std::string& body,
                  uLong body_crc, const std::string& tail) {
  append32(out, static_cast<std::uint32_t>(head.size() + body.size() + tail.size()));
  std::string prefix(type, 4);
  prefix += head;
  uLong crc = crc32_z(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(prefix.data()), prefix.size());
  crc = crc32_combine(crc, body_crc, static_cast<z_off_t>(body.size()));
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(tail.data()), tail.size());
  out += prefix;  // type and head
  out += body;
  out += tail;
  append32(out, static_cast<std::uint32_t>(crc));
}

void append_chunk(std::string& out, const char type[4], const std::string& data) {
  append_chunk(out, type, data, std::string(), crc32(0, nullptr, 0), std::string());
}

}  // namespace

std::string encode_png(const cv::Mat& image, int level, std::size_t strip_bytes) {
  const int channels = image.channels();
  if (image.empty() || image.depth() != CV_8U || (channels != 1 && channels != 3 && channels != 4)) {
    fail("expected an 8-bit image with 1, 3 or 4 channels");
  }
  level = std::clamp(level, 0, 9);
  const std::size_t row_bytes = static_cast<std::size_t>(image.cols) * channels + 1;
  // zlib counts a call's bytes in 32 bits; a strip holds at least one row and its priming.
  if (row_bytes > (std::size_t{1} << 30)) fail("a row of over 1 GiB");
  const int rows_per_strip =
      static_cast<int>(std::clamp<std::size_t>(strip_bytes / row_bytes, 1, static_cast<std::size_t>(image.rows)));
  std::vector<Strip> strips(static_cast<std::size_t>((image.rows + rows_per_strip - 1) / rows_per_strip));
  for (std::size_t i = 0; i < strips.size(); ++i) {
    strips[i].first_row = static_cast<int>(i) * rows_per_strip;
    strips[i].end_row = std::min(image.rows, strips[i].first_row + rows_per_strip);
  }
  core::parallel_for(0, static_cast<std::int64_t>(strips.size()), 1,
                     [&](std::int64_t begin, std::int64_t end) {
                       deflate_strips(image, level, strips, begin, end);
                     });

  std::size_t total = 8 + 25 + 12 + 2 + 4;
  for (const Strip& strip : strips) total += 12 + strip.deflated.size();
  std::string out;
  out.reserve(total);
  out.append("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr(13, '\0');
  auto* h = reinterpret_cast<unsigned char*>(ihdr.data());
  put32(h, static_cast<std::uint32_t>(image.cols));
  put32(h + 4, static_cast<std::uint32_t>(image.rows));
  h[8] = 8;                                           // bits per sample
  h[9] = channels == 1 ? 0 : channels == 3 ? 2 : 6;   // gray, RGB, RGBA
  // h[10..12]: deflate, adaptive filtering (per-row filter bytes), no interlace: all 0.
  append_chunk(out, "IHDR", ihdr);

  uLong adler = adler32(0, nullptr, 0);
  for (const Strip& strip : strips) {
    adler = adler32_combine(adler, strip.adler, static_cast<z_off_t>(strip.raw_bytes));
  }
  // The zlib header opens the first IDAT, the Adler-32 of all the filtered bytes closes the last.
  const std::uint16_t header = zlib_header(level);
  const std::string zlib_head{static_cast<char>(header >> 8), static_cast<char>(header & 0xFF)};
  std::string zlib_tail;
  append32(zlib_tail, static_cast<std::uint32_t>(adler));
  for (std::size_t i = 0; i < strips.size(); ++i) {
    Strip& strip = strips[i];
    append_chunk(out, "IDAT", i == 0 ? zlib_head : std::string(), strip.deflated, strip.crc,
                 i + 1 == strips.size() ? zlib_tail : std::string());
    std::string().swap(strip.deflated);
  }
  append_chunk(out, "IEND", std::string());
  return out;
}

}  // namespace cutout::imaging::detail
