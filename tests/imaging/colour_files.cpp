#include "imaging/colour_files.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include <jpeglib.h>
#include <lcms2.h>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include "support/test_images.hpp"

namespace cutout::testing {
namespace {

void append_u16(std::string& out, std::uint32_t v, bool big) {
  const char hi = static_cast<char>((v >> 8) & 0xFF), lo = static_cast<char>(v & 0xFF);
  out += big ? hi : lo;
  out += big ? lo : hi;
}
void append_u32(std::string& out, std::uint32_t v, bool big) {
  append_u16(out, big ? v >> 16 : v & 0xFFFF, big);
  append_u16(out, big ? v & 0xFFFF : v >> 16, big);
}

std::string save(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  if (!profile || !cmsSaveProfileToMem(profile, nullptr, &size)) throw std::runtime_error("lcms2");
  std::string bytes(size, '\0');
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  cmsCloseProfile(profile);
  return bytes;
}

std::string rgb_profile(cmsCIExyYTRIPLE primaries, cmsToneCurve* curve, const char* name) {
  cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&d65, &primaries, curves);
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US", name);
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
  cmsFreeToneCurve(curve);
  return save(profile);
}

// The CMYK profile's table: ink (0..65535, 0 = none) -> naive RGB -> Lab (D50), v4 encoding.
struct InkModel {
  cmsHTRANSFORM rgb_to_lab;
};
cmsInt32Number sample_ink(const cmsUInt16Number in[], cmsUInt16Number out[], void* cargo) {
  const auto* model = static_cast<const InkModel*>(cargo);
  const double c = in[0] / 65535.0, m = in[1] / 65535.0, y = in[2] / 65535.0,
               k = in[3] / 65535.0;
  const double rgb[3] = {(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)};
  cmsCIELab lab;
  cmsDoTransform(model->rgb_to_lab, rgb, &lab, 1);
  cmsFloat2LabEncoded(out, &lab);
  return TRUE;
}

}  // namespace

std::string display_p3_profile() {
  const cmsFloat64Number srgb_curve[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  return rgb_profile({{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}},
                     cmsBuildParametricToneCurve(nullptr, 4, srgb_curve), "Display P3 (test)");
}

std::string adobe_rgb_profile() {
  return rgb_profile({{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}},
                     cmsBuildGamma(nullptr, 563.0 / 256.0), "Adobe RGB (1998) (test)");
}

std::string srgb_profile() { return save(cmsCreate_sRGBProfile()); }

std::string gray_profile(double gamma) {
  cmsToneCurve* curve = cmsBuildGamma(nullptr, gamma);
  const std::string bytes = save(cmsCreateGrayProfile(cmsD50_xyY(), curve));
  cmsFreeToneCurve(curve);
  return bytes;
}

std::string cmyk_profile() {
  cmsHPROFILE srgb = cmsCreate_sRGBProfile(), lab = cmsCreateLab4Profile(nullptr);
  InkModel model{cmsCreateTransform(srgb, TYPE_RGB_DBL, lab, TYPE_Lab_DBL,
                                    INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE)};
  cmsHPROFILE profile = cmsCreateProfilePlaceholder(nullptr);
  cmsSetProfileVersion(profile, 4.3);
  cmsSetDeviceClass(profile, cmsSigOutputClass);
  cmsSetColorSpace(profile, cmsSigCmykData);
  cmsSetPCS(profile, cmsSigLabData);
  cmsWriteTag(profile, cmsSigMediaWhitePointTag, cmsD50_XYZ());
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US", "CMYK (test)");
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
  cmsPipeline* table = cmsPipelineAlloc(nullptr, 4, 3);
  cmsStage* clut = cmsStageAllocCLut16bit(nullptr, 9, 4, 3, nullptr);
  cmsStageSampleCLut16bit(clut, sample_ink, &model, 0);
  // lutAtoBType stores "A curves, CLUT, B curves": identity curves around the table.
  cmsPipelineInsertStage(table, cmsAT_END, cmsStageAllocToneCurves(nullptr, 4, nullptr));
  cmsPipelineInsertStage(table, cmsAT_END, clut);
  cmsPipelineInsertStage(table, cmsAT_END, cmsStageAllocToneCurves(nullptr, 3, nullptr));
  cmsWriteTag(profile, cmsSigAToB0Tag, table);
  cmsPipelineFree(table);
  cmsDeleteTransform(model.rgb_to_lab);
  cmsCloseProfile(srgb);
  cmsCloseProfile(lab);
  return save(profile);
}

std::string jpeg_with_icc(const cv::Mat& bgr, const std::string& icc, std::size_t chunk) {
  std::string segments;
  const std::size_t count = (icc.size() + chunk - 1) / chunk;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string part = icc.substr(i * chunk, chunk);
    segments += "\xFF\xE2";
    append_u16(segments, static_cast<std::uint32_t>(2 + 14 + part.size()), true);
    segments += std::string("ICC_PROFILE\0", 12);
    segments += static_cast<char>(i + 1);
    segments += static_cast<char>(count);
    segments += part;
  }
  std::string jpeg = encode_as(bgr, ".jpg");
  jpeg.insert(2, segments);
  return jpeg;
}

std::string cmyk_jpeg(const cv::Mat& inverted_cmyk, const std::string& icc) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &out, &size);
  cinfo.image_width = static_cast<JDIMENSION>(inverted_cmyk.cols);
  cinfo.image_height = static_cast<JDIMENSION>(inverted_cmyk.rows);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);  // writes the Adobe marker for CMYK
  jpeg_set_quality(&cinfo, 92, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  if (!icc.empty()) {
    jpeg_write_icc_profile(&cinfo, reinterpret_cast<const JOCTET*>(icc.data()),
                           static_cast<unsigned>(icc.size()));
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(inverted_cmyk.ptr<std::uint8_t>(cinfo.next_scanline));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<const char*>(out), size);
  std::free(out);
  return bytes;
}

cv::Mat decode_raw_cmyk(const std::string& jpeg) {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);  // a test file: libjpeg's exit on error is fine
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size());
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_CMYK;
  jpeg_start_decompress(&cinfo);
  cv::Mat cmyk(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width),
               CV_8UC4);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = cmyk.ptr<std::uint8_t>(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return cmyk;
}

std::string png_with_icc(const cv::Mat& image, const std::string& icc) {
  uLongf packed_size = compressBound(static_cast<uLong>(icc.size()));
  std::string packed(packed_size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
           reinterpret_cast<const Bytef*>(icc.data()), static_cast<uLong>(icc.size()));
  packed.resize(packed_size);
  const std::string body = "iCCP" + std::string("test\0\0", 6) + packed;
  std::string chunk;
  append_u32(chunk, static_cast<std::uint32_t>(body.size() - 4), true);
  chunk += body;
  append_u32(chunk,
             static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                              static_cast<uInt>(body.size()))),
             true);
  std::string png = encode_as(image, ".png");
  png.insert(8 + 25, chunk);  // after the signature and IHDR
  return png;
}

std::string webp_with_icc(const cv::Mat& bgr, const std::string& icc) {
  std::vector<std::uint8_t> buffer;
  if (!cv::imencode(".webp", bgr, buffer, {cv::IMWRITE_WEBP_QUALITY, 101})) {
    throw std::runtime_error("colour_files: cannot encode .webp");
  }
  const std::string simple(buffer.begin(), buffer.end());
  std::string chunks = "VP8X";
  append_u32(chunks, 10, false);
  chunks += static_cast<char>(0x20 | (bgr.channels() == 4 ? 0x10 : 0));  // ICC (+ alpha) flags
  chunks += std::string(3, '\0');
  for (const int extent : {bgr.cols - 1, bgr.rows - 1}) {
    for (int i = 0; i < 3; ++i) chunks += static_cast<char>((extent >> (8 * i)) & 0xFF);
  }
  chunks += "ICCP";
  append_u32(chunks, static_cast<std::uint32_t>(icc.size()), false);
  chunks += icc;
  if (icc.size() % 2 != 0) chunks += '\0';
  chunks += simple.substr(12);
  std::string webp = "RIFF";
  append_u32(webp, static_cast<std::uint32_t>(4 + chunks.size()), false);
  return webp + "WEBP" + chunks;
}

std::string tiff_with_icc(const cv::Mat& bgr, const std::string& icc) {
  const auto w = static_cast<std::uint32_t>(bgr.cols), h = static_cast<std::uint32_t>(bgr.rows);
  const std::uint32_t entries = icc.empty() ? 10 : 11;
  const std::uint32_t ifd_size = 2 + 12 * entries + 4;
  const std::uint32_t bits_at = 8 + ifd_size, icc_at = bits_at + 6;
  const std::uint32_t strip_at = icc_at + static_cast<std::uint32_t>(icc.size() + icc.size() % 2);
  std::string tiff("II*\0", 4);
  append_u32(tiff, 8, false);
  append_u16(tiff, entries, false);
  const auto entry = [&](std::uint32_t tag, std::uint32_t type, std::uint32_t count,
                         std::uint32_t value) {
    append_u16(tiff, tag, false);
    append_u16(tiff, type, false);
    append_u32(tiff, count, false);
    if (type == 3 && count == 1) {
      append_u16(tiff, value, false);
      append_u16(tiff, 0, false);
    } else {
      append_u32(tiff, value, false);
    }
  };
  entry(256, 4, 1, w);             // ImageWidth
  entry(257, 4, 1, h);             // ImageLength
  entry(258, 3, 3, bits_at);       // BitsPerSample 8,8,8
  entry(259, 3, 1, 1);             // Compression: none
  entry(262, 3, 1, 2);             // Photometric: RGB
  entry(273, 4, 1, strip_at);      // StripOffsets
  entry(277, 3, 1, 3);             // SamplesPerPixel
  entry(278, 4, 1, h);             // RowsPerStrip
  entry(279, 4, 1, w * h * 3);     // StripByteCounts
  entry(284, 3, 1, 1);             // PlanarConfiguration: chunky
  if (!icc.empty()) entry(34675, 7, static_cast<std::uint32_t>(icc.size()), icc_at);
  append_u32(tiff, 0, false);  // no next IFD
  for (int i = 0; i < 3; ++i) append_u16(tiff, 8, false);
  tiff += icc;
  if (icc.size() % 2 != 0) tiff += '\0';
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      tiff += static_cast<char>(p[2]);
      tiff += static_cast<char>(p[1]);
      tiff += static_cast<char>(p[0]);
    }
  }
  return tiff;
}

cv::Mat reference_to_srgb(const cv::Mat& pixels, const std::string& icc, unsigned intent,
                          bool as_8bit) {
  cmsHPROFILE in = cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size()));
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  const bool cmyk = pixels.channels() == 4;
  if (as_8bit) {
    cmsHTRANSFORM transform = cmsCreateTransform(in, cmyk ? TYPE_CMYK_8_REV : TYPE_BGR_8, srgb,
                                                 TYPE_BGR_8, intent, 0);
    if (!transform) throw std::runtime_error("colour_files: lcms2 made no reference transform");
    cv::Mat out(pixels.size(), CV_8UC3);
    const cv::Mat in_pixels = pixels.clone();  // continuous
    cmsDoTransform(transform, in_pixels.data, out.data, static_cast<cmsUInt32Number>(pixels.total()));
    cmsDeleteTransform(transform);
    cmsCloseProfile(srgb);
    cmsCloseProfile(in);
    return out;
  }
  cmsHTRANSFORM transform =
      cmsCreateTransform(in, cmyk ? TYPE_CMYK_DBL : TYPE_RGB_DBL, srgb, TYPE_RGB_DBL, intent,
                         cmsFLAGS_NOOPTIMIZE | cmsFLAGS_NOCACHE);
  if (!transform) throw std::runtime_error("colour_files: lcms2 made no reference transform");
  cv::Mat out(pixels.size(), CV_8UC3);
  for (int y = 0; y < pixels.rows; ++y) {
    for (int x = 0; x < pixels.cols; ++x) {
      double device[4], rgb[3];
      if (cmyk) {  // inverted 8-bit -> ink in percent, TYPE_CMYK_DBL's range
        const cv::Vec4b p = pixels.at<cv::Vec4b>(y, x);
        for (int c = 0; c < 4; ++c) device[c] = (255 - p[c]) * 100.0 / 255.0;
      } else {
        const cv::Vec3b p = pixels.at<cv::Vec3b>(y, x);
        for (int c = 0; c < 3; ++c) device[c] = p[2 - c] / 255.0;
      }
      cmsDoTransform(transform, device, rgb, 1);
      cv::Vec3b& o = out.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        o[2 - c] = static_cast<std::uint8_t>(std::lround(std::clamp(rgb[c], 0.0, 1.0) * 255.0));
      }
    }
  }
  cmsDeleteTransform(transform);
  cmsCloseProfile(srgb);
  cmsCloseProfile(in);
  return out;
}

}  // namespace cutout::testing
