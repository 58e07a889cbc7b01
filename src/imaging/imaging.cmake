# Sources of the imaging layer (decode, orientation, compose, encode). Included by the top level.
set(CUTOUT_IMAGING_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/image_format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exif.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jpeg_decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/icc_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/colour_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/zeroed_allocator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encode.cpp
)
# What those sources use besides OpenCV: libjpeg-turbo (JPEG decoding that sees libjpeg's
# warnings), lcms2 (ICC profiles to sRGB) and zlib (PNG's compressed iCCP chunk).
find_package(JPEG REQUIRED)
find_package(ZLIB REQUIRED)
pkg_check_modules(LCMS2 REQUIRED IMPORTED_TARGET lcms2)
set(CUTOUT_IMAGING_LIBRARIES JPEG::JPEG ZLIB::ZLIB PkgConfig::LCMS2)
