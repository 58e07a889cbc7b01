// The pipeline benchmark's decode floor (bench/pipeline/run.py): one libjpeg-turbo decode of a
// JPEG file's bytes on one thread, nothing else. The bytes are read into memory first; each run
// decodes them into a fresh BGR buffer (JCS_EXT_BGR, what the server's decoder asks for), so the
// page faults a real decode pays are counted and no colour conversion follows. Runs alternate
// over the files so they share the machine's load. Prints one JSON object per file:
//   {"file": ..., "width": W, "height": H, "bytes": N, "ms": [...], "median_ms": m}
//
//   cutout-decode-floor RUNS FILE.jpg [FILE.jpg ...]
//
// Errors (unreadable file, not a JPEG) go to stderr with exit status 1.

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct Decoded {
  bool ok = false;
  int width = 0;
  int height = 0;
  std::string error;
};

// Decodes `bytes` into a new buffer held by the caller (outside this frame, so longjmp leaves it
// well defined). Not jpeg_finish_decompress, as the server (it would only read on to EOI).
Decoded decode_once(const std::string& bytes, std::unique_ptr<unsigned char[]>& pixels) {
  jpeg_decompress_struct cinfo{};
  ErrorManager errors{};
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = [](j_common_ptr c) {
    auto* e = reinterpret_cast<ErrorManager*>(c->err);
    (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
  };
  Decoded out;
  jpeg_create_decompress(&cinfo);
  if (setjmp(errors.jump)) {
    out.error = errors.message;
    jpeg_destroy_decompress(&cinfo);
    return out;
  }
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_EXT_BGR;
  jpeg_start_decompress(&cinfo);
  const std::size_t step = static_cast<std::size_t>(cinfo.output_width) * 3;
  pixels.reset(new unsigned char[step * cinfo.output_height]);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[16];
    const JDIMENSION first = cinfo.output_scanline;
    const JDIMENSION count = std::min<JDIMENSION>(16, cinfo.output_height - first);
    for (JDIMENSION i = 0; i < count; ++i) rows[i] = pixels.get() + (first + i) * step;
    jpeg_read_scanlines(&cinfo, rows, count);
  }
  out.ok = true;
  out.width = static_cast<int>(cinfo.output_width);
  out.height = static_cast<int>(cinfo.output_height);
  jpeg_destroy_decompress(&cinfo);
  return out;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RUNS FILE.jpg [FILE.jpg ...]\n", argv[0]);
    return 2;
  }
  const int runs = std::max(1, std::atoi(argv[1]));
  std::vector<std::string> files(argv + 2, argv + argc);
  std::vector<std::string> contents;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    contents.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::vector<std::vector<double>> times(files.size());
  std::vector<Decoded> shapes(files.size());
  for (int r = 0; r < runs; ++r) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      std::unique_ptr<unsigned char[]> pixels;
      shapes[i] = decode_once(contents[i], pixels);
      const auto stop = std::chrono::steady_clock::now();
      if (!shapes[i].ok) {
        std::fprintf(stderr, "%s: %s\n", files[i].c_str(), shapes[i].error.c_str());
        return 1;
      }
      times[i].push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::printf("{\"file\": \"%s\", \"width\": %d, \"height\": %d, \"bytes\": %zu, \"ms\": [",
                files[i].c_str(), shapes[i].width, shapes[i].height, contents[i].size());
    for (std::size_t k = 0; k < times[i].size(); ++k) std::printf("%s%.3f", k ? ", " : "", times[i][k]);
    std::printf("], \"median_ms\": %.3f}\n", median(times[i]));
  }
  return 0;
}
