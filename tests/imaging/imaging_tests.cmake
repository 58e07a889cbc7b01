# Unit tests of the imaging layer. Included by tests/CMakeLists.txt.
set(CUTOUT_IMAGING_TEST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/image_format_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exif_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/truncation_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/colour_profile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/colour_files.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose_parallel_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/foreground_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/png_encode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/webp_encode_test.cpp
)
# Inputs that once broke the decoder, kept as they were reported (tests/imaging/cases/README.md).
set(CUTOUT_IMAGING_CASES_DIR ${CMAKE_CURRENT_LIST_DIR}/cases)
