# Sources of the imaging layer (decode, orientation, compose, encode). Included by the top level.
set(CUTOUT_IMAGING_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/image_format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exif.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encode.cpp
)
