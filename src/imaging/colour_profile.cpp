// lcms2 transforms are made with cmsFLAGS_NOCACHE, which makes one transform safe to use from
// several threads at once, so cached ones are shared between requests.

#include "colour_profile.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <lcms2.h>

#include "zeroed_allocator.hpp"

namespace cutout::imaging::detail {
namespace {

using Kind = ProfileOutcome::Kind;

// Gray in the first of three bytes (what GRAY2BGR made), read as one gray channel.
constexpr cmsUInt32Number kGrayIn3Bytes =
    COLORSPACE_SH(PT_GRAY) | EXTRA_SH(2) | CHANNELS_SH(1) | BYTES_SH(1);

enum class Input : char { Bgr = 'b', Gray = 'g', Cmyk = 'c', CmykInverted = 'i' };

cmsUInt32Number input_format(Input input) {
  switch (input) {
    case Input::Bgr: return TYPE_BGR_8;
    case Input::Gray: return kGrayIn3Bytes;
    case Input::Cmyk: return TYPE_CMYK_8;
    case Input::CmykInverted: return TYPE_CMYK_8_REV;
  }
  return TYPE_BGR_8;
}

struct Transform {
  cmsHTRANSFORM handle = nullptr;  // null when the pixels are to be left as they are
  ProfileOutcome outcome;
  Transform() = default;
  Transform(const Transform&) = delete;
  Transform& operator=(const Transform&) = delete;
  ~Transform() {
    if (handle) cmsDeleteTransform(handle);
  }
};

using ProfilePtr = std::unique_ptr<void, decltype(&cmsCloseProfile)>;

// True when the transform moves no colour of a 16-level grid (or gray ramp) by more than one.
bool near_identity(cmsHTRANSFORM transform, Input input) {
  std::vector<std::uint8_t> in, out;
  if (input == Input::Gray) {
    for (int v = 0; v < 256; ++v) in.insert(in.end(), {std::uint8_t(v), 0, 0});
  } else {
    for (int b = 0; b < 256; b += 17)
      for (int g = 0; g < 256; g += 17)
        for (int r = 0; r < 256; r += 17)
          in.insert(in.end(), {std::uint8_t(b), std::uint8_t(g), std::uint8_t(r)});
  }
  out.resize(in.size());
  const auto pixels = static_cast<cmsUInt32Number>(in.size() / 3);
  cmsDoTransform(transform, in.data(), out.data(), pixels);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const int expected = input == Input::Gray ? in[i - i % 3] : in[i];
    if (std::abs(out[i] - expected) > 1) return false;
  }
  return true;
}

std::unique_ptr<Transform> make_transform(std::string_view icc, Input input) {
  auto result = std::make_unique<Transform>();
  ProfileOutcome& outcome = result->outcome;
  outcome.kind = Kind::Ignored;
  ProfilePtr profile(cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size())),
                     cmsCloseProfile);
  if (!profile) {
    outcome.note = "lcms2 cannot read the embedded ICC profile";
    return result;
  }
  const cmsColorSpaceSignature wanted = input == Input::Bgr    ? cmsSigRgbData
                                        : input == Input::Gray ? cmsSigGrayData
                                                               : cmsSigCmykData;
  if (cmsGetColorSpace(profile.get()) != wanted) {
    outcome.note = "the embedded ICC profile is for another colour space than the pixels'";
    return result;
  }
  const cmsUInt32Number intent =
      cmsIsCLUT(profile.get(), INTENT_PERCEPTUAL, LCMS_USED_AS_INPUT) ? INTENT_PERCEPTUAL
                                                                       : INTENT_RELATIVE_COLORIMETRIC;
  ProfilePtr srgb(cmsCreate_sRGBProfile(), cmsCloseProfile);
  cmsHTRANSFORM handle = cmsCreateTransform(profile.get(), input_format(input), srgb.get(),
                                            TYPE_BGR_8, intent, cmsFLAGS_NOCACHE);
  if (!handle) {
    outcome.note = "lcms2 cannot make a transform from the embedded ICC profile to sRGB";
    return result;
  }
  if (input != Input::Cmyk && input != Input::CmykInverted && near_identity(handle, input)) {
    cmsDeleteTransform(handle);
    outcome.kind = Kind::AlreadySrgb;
    return result;
  }
  result->handle = handle;
  outcome.kind = Kind::Converted;
  return result;
}

// A few recent transforms, keyed by the profile's bytes and the input layout.
class TransformCache {
 public:
  std::shared_ptr<const Transform> get(std::string_view icc, Input input) {
    std::string key(icc);
    key.push_back(static_cast<char>(input));
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [k, transform] : entries_) {
        if (k == key) return transform;
      }
    }
    std::shared_ptr<const Transform> made = make_transform(icc, input);
    if (key.size() <= kMaxKeyBytes) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
      entries_.emplace_back(std::move(key), made);
    }
    return made;
  }

 private:
  static constexpr std::size_t kMaxEntries = 8;
  static constexpr std::size_t kMaxKeyBytes = 1u << 20;  // 8 entries: 8 MiB at most
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<const Transform>>> entries_;
};

std::shared_ptr<const Transform> transform_for(std::string_view icc, Input input) {
  static TransformCache cache;
  return cache.get(icc, input);
}

// Rows in parallel on OpenCV's pool (a 12 MP photo takes ~130 ms on one core): a NOCACHE
// transform may run on several threads at once.
void run(const Transform& transform, const cv::Mat& in, cv::Mat& out) {
  cv::parallel_for_(cv::Range(0, in.rows), [&](const cv::Range& rows) {
    for (int y = rows.start; y < rows.end; ++y) {
      cmsDoTransform(transform.handle, in.ptr(y), out.ptr(y),
                     static_cast<cmsUInt32Number>(in.cols));
    }
  });
}

}  // namespace

ProfileOutcome convert_to_srgb(cv::Mat& bgr, std::string_view icc, bool gray_source) {
  if (icc.empty()) return {};
  CV_Assert(bgr.type() == CV_8UC3);
  // A gray file may carry an RGB profile too: its pixels are then RGB with equal channels.
  Input input = Input::Bgr;
  if (gray_source) {
    ProfilePtr profile(cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size())),
                       cmsCloseProfile);
    if (profile && cmsGetColorSpace(profile.get()) == cmsSigGrayData) input = Input::Gray;
  }
  const auto transform = transform_for(icc, input);
  if (transform->handle) run(*transform, bgr, bgr);  // in place: same pixel size in and out
  return transform->outcome;
}

cv::Mat cmyk_to_bgr(const cv::Mat& cmyk, bool inverted, std::string_view icc,
                    ProfileOutcome& outcome) {
  CV_Assert(cmyk.type() == CV_8UC4);
  cv::Mat bgr = zeroed_mat(cmyk.rows, cmyk.cols, CV_8UC3);
  if (!icc.empty()) {
    const auto transform = transform_for(icc, inverted ? Input::CmykInverted : Input::Cmyk);
    outcome = transform->outcome;
    if (transform->handle) {
      run(*transform, cmyk, bgr);
      return bgr;
    }
  }
  // OpenCV 4.6's icvCvt_CMYK2BGR_8u_C4C3R, which expects inverted values.
  for (int y = 0; y < cmyk.rows; ++y) {
    const std::uint8_t* in = cmyk.ptr<std::uint8_t>(y);
    std::uint8_t* out = bgr.ptr<std::uint8_t>(y);
    for (int x = 0; x < cmyk.cols; ++x, in += 4, out += 3) {
      const int flip = inverted ? 0 : 255;
      const int c = in[0] ^ flip, m = in[1] ^ flip, ye = in[2] ^ flip, k = in[3] ^ flip;
      out[2] = static_cast<std::uint8_t>(k - ((255 - c) * k >> 8));
      out[1] = static_cast<std::uint8_t>(k - ((255 - m) * k >> 8));
      out[0] = static_cast<std::uint8_t>(k - ((255 - ye) * k >> 8));
    }
  }
  return bgr;
}

}  // namespace cutout::imaging::detail
