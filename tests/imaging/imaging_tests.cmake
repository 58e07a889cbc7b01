# Unit tests of the imaging layer. Included by tests/CMakeLists.txt.
set(CUTOUT_IMAGING_TEST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/image_format_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exif_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/foreground_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encode_test.cpp
)
