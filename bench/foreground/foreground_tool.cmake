# cutout-foreground (bench/foreground/foreground_tool.cpp): the foreground estimation from the
# command line, for bench/foreground (quality against the numpy reference, and its cost against
# the decode floor) and tests/python/test_foreground_reference.py. Links the imaging layer only.
add_executable(cutout-foreground ${CMAKE_CURRENT_LIST_DIR}/foreground_tool.cpp)
target_link_libraries(cutout-foreground PRIVATE cutout_imaging)
