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
  ${CMAKE_CURRENT_LIST_DIR}/decoder_bomb_test.cpp
)
# Inputs that once broke the decoder, kept as they were reported (tests/imaging/cases/README.md).
set(CUTOUT_IMAGING_CASES_DIR ${CMAKE_CURRENT_LIST_DIR}/cases)

# Decoder bombs (issue 14): made at build time into the build tree by a script kept beside them.
set(CUTOUT_DECODER_BOMBS_DIR ${CMAKE_CURRENT_BINARY_DIR}/decoder_bombs)
add_custom_command(
  OUTPUT ${CUTOUT_DECODER_BOMBS_DIR}/bombs.stamp
  COMMAND ${CUTOUT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bombs/make_decoder_bombs.py --out ${CUTOUT_DECODER_BOMBS_DIR}
  COMMAND ${CMAKE_COMMAND} -E touch ${CUTOUT_DECODER_BOMBS_DIR}/bombs.stamp
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/bombs/make_decoder_bombs.py
  COMMENT "Making the decoder bombs"
  VERBATIM)
add_custom_target(cutout_decoder_bombs DEPENDS ${CUTOUT_DECODER_BOMBS_DIR}/bombs.stamp)
