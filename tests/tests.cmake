# Tests, run with ctest. Labels: unit (C, engine/ only), lua (module tests that need
# no Docker), docker (the real Docker engine). scripts/test.sh runs them all.
file(GLOB CLAW_UNIT_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${CLAW_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE clawcore)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/unit
    ENVIRONMENT "CLAW_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")
endforeach()

# Lua module tests: each file is a policy run by the engine itself.
file(GLOB CLAW_LUA_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/lua/test_*.lua)
foreach(src ${CLAW_LUA_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME lua/${name} COMMAND clawengine run ${src})
  set_tests_properties(lua/${name} PROPERTIES LABELS lua
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/lua
    ENVIRONMENT "CLAW_TEST_TMP=${CMAKE_BINARY_DIR}/tmp;CLAWENGINE_STATE_DIR=${CMAKE_BINARY_DIR}/tmp/state")
endforeach()

# Integration tests on a real dockerd. The fixture images are built once, first; then
# the suites may run side by side (ctest -j), each on its own tags, names, ports and
# state (tests/integration/lib.sh); scripts/test.sh runs two at a time unless
# CLAW_DOCKER_JOBS says otherwise.
add_test(NAME docker/fixture-images
  COMMAND ${PROJECT_SOURCE_DIR}/tests/fixtures/gateway/build.sh ${CMAKE_BINARY_DIR}/fixtures)
set_tests_properties(docker/fixture-images PROPERTIES LABELS docker FIXTURES_SETUP images)
file(GLOB CLAW_DOCKER_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/integration/test_*.sh)
foreach(src ${CLAW_DOCKER_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME docker/${name} COMMAND bash ${src})
  set_tests_properties(docker/${name} PROPERTIES LABELS docker FIXTURES_REQUIRED images TIMEOUT 600
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/integration
    ENVIRONMENT "CLAWENGINE=$<TARGET_FILE:clawengine>;CLAW_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")
endforeach()

# With ctest -j, the longest suites start first (descending COST), so that the lanes
# end together: seconds each took alone on a 2-core machine.
foreach(pair test_rolling:280 test_compose:140 test_daemon:90 test_canary:90 test_adopt:40)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 name)
  list(GET pair 1 seconds)
  set_tests_properties(docker/${name} PROPERTIES COST ${seconds})
endforeach()

add_test(NAME lua/install COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(lua/install PROPERTIES LABELS lua ENVIRONMENT "CLAW_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")

# Fuzz targets (libFuzzer, clang only), built on request: -DCLAW_FUZZ=ON.
if(CLAW_FUZZ)
  include(${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
endif()
