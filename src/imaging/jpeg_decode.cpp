// libjpeg reports errors through a longjmp from its error manager. The two functions that call
// setjmp (read_header, read_rows) hold no C++ objects with destructors, so the jump skips none.
// The progress monitor, which libjpeg calls before each row batch and, while it reads a
// progressive file's scans, once per row of blocks, jumps the same way for the scan limit and the
// decode deadline: both are enforced while decoding, not after.

#include "jpeg_decode.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <jpeglib.h>
// jerror.h's message codes; after jpeglib.h, which it needs.
#include <jerror.h>

#include "cutout/core/error.hpp"
#include "zeroed_allocator.hpp"

namespace cutout::imaging::detail {
namespace {

// libjpeg-turbo's TurboJPEG API refuses progressive files with more scans than this
// (TJFLAG_LIMITSCANS): each scan re-reads the whole coefficient buffer, so thousands of tiny scans
// make a small file cost minutes.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr base;  // first, so a j_common_ptr's err can be cast back to this
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct ProgressMonitor {
  jpeg_progress_mgr base;  // first, so cinfo->progress can be cast back to this
  const DecodeDeadline* deadline;
  bool timed_out = false;
};

// The warnings after which every pixel still comes from the file.
bool harmless_warning(int code) {
  return code == JWRN_EXTRANEOUS_DATA || code == JWRN_BOGUS_ICC || code == JWRN_JFIF_MAJOR ||
         code == JWRN_ADOBE_XFORM;
}

[[noreturn]] void fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  errors->base.format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void on_error(j_common_ptr cinfo) { fail(cinfo); }

void on_message(j_common_ptr cinfo, int level) {
  // level -1 is a warning; 0 and up are trace messages, which are ignored.
  if (level < 0 && !harmless_warning(cinfo->err->msg_code)) fail(cinfo);
}

void on_progress(j_common_ptr cinfo) {
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (dinfo->input_scan_number > kMaxScans) {
    std::snprintf(errors->message, sizeof errors->message,
                  "the progressive JPEG has more than %d scans", kMaxScans);
    std::longjmp(errors->jump, 1);
  }
  auto* monitor = reinterpret_cast<ProgressMonitor*>(cinfo->progress);
  if (monitor->deadline->passed()) {
    monitor->timed_out = true;
    std::longjmp(errors->jump, 1);
  }
}

struct IccBuffer {
  JOCTET* data = nullptr;  // malloc'ed by libjpeg; freed by the caller
  unsigned int size = 0;
};

// Reads the header (keeping the APP2 segments), reassembles the ICC profile, and starts the
// decompressor, which for a progressive file reads every scan. False with the message set on error.
bool read_header(j_decompress_ptr cinfo, std::string_view bytes, IccBuffer* icc) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (setjmp(errors->jump)) return false;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);
  jpeg_read_icc_profile(cinfo, &icc->data, &icc->size);
  const bool cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
  jpeg_start_decompress(cinfo);
  return true;
}

// Decodes every row into `pixels` (rows of `step` bytes). False with the message set on error.
bool read_rows(j_decompress_ptr cinfo, unsigned char* pixels, std::size_t step) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (setjmp(errors->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW rows[16];
    const JDIMENSION first = cinfo->output_scanline;
    const JDIMENSION count = std::min<JDIMENSION>(16, cinfo->output_height - first);
    for (JDIMENSION i = 0; i < count; ++i) rows[i] = pixels + (first + i) * step;
    jpeg_read_scanlines(cinfo, rows, count);
  }
  // Not jpeg_finish_decompress: it would read on to EOI, and a file that ends right after its
  // last row has given every pixel (progressive files were read to the end in read_header).
  return true;
}

[[noreturn]] void throw_invalid(const char* message) {
  throw Error(ErrorKind::InvalidArgument, "invalid_image",
              std::string("the jpeg image is truncated or corrupt (") + message +
                  "); an image is only accepted when every pixel is in the file");
}

}  // namespace

JpegPixels decode_jpeg(std::string_view bytes, const DecodeDeadline& deadline) {
  jpeg_decompress_struct cinfo{};
  ErrorManager errors{};
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_error;
  errors.base.emit_message = on_message;
  ProgressMonitor progress{{}, &deadline};
  progress.base.progress_monitor = on_progress;
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &progress.base;
  const std::unique_ptr<jpeg_decompress_struct, void (*)(jpeg_decompress_struct*)> guard(
      &cinfo, [](jpeg_decompress_struct* c) { jpeg_destroy_decompress(c); });

  IccBuffer icc;
  const bool started = read_header(&cinfo, bytes, &icc);
  JpegPixels result;
  if (icc.data) {
    result.icc_profile.assign(reinterpret_cast<const char*>(icc.data), icc.size);
    std::free(icc.data);
  }
  if (progress.timed_out) deadline.fail("jpeg scans");
  if (!started) throw_invalid(errors.message);

  const bool cmyk = cinfo.out_color_space == JCS_CMYK;
  result.gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  result.cmyk_inverted = cmyk && cinfo.saw_Adobe_marker;
  result.pixels = zeroed_mat(static_cast<int>(cinfo.output_height),
                             static_cast<int>(cinfo.output_width), cmyk ? CV_8UC4 : CV_8UC3);
  if (!read_rows(&cinfo, result.pixels.data, result.pixels.step[0])) {
    if (progress.timed_out) deadline.fail("jpeg rows");
    throw_invalid(errors.message);
  }
  return result;
}

}  // namespace cutout::imaging::detail
