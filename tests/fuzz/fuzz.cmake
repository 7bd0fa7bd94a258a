# libFuzzer targets. Each compiles the engine files it needs itself, with the fuzzer's
# instrumentation and sanitizers, so the rest of the build is left as it is.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CLAW_FUZZ needs clang (libFuzzer): configure with CC=clang")
endif()

set(CLAW_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)

add_executable(fuzz_admin ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_admin.c
  ${PROJECT_SOURCE_DIR}/engine/admin.c ${PROJECT_SOURCE_DIR}/engine/buf.c
  ${PROJECT_SOURCE_DIR}/engine/cancel.c ${PROJECT_SOURCE_DIR}/engine/clock.c
  ${PROJECT_SOURCE_DIR}/engine/err.c)
target_include_directories(fuzz_admin PRIVATE ${PROJECT_SOURCE_DIR}/engine)
target_compile_options(fuzz_admin PRIVATE ${CLAW_FUZZ_FLAGS})
target_link_options(fuzz_admin PRIVATE ${CLAW_FUZZ_FLAGS})
target_link_libraries(fuzz_admin PRIVATE PkgConfig::CJSON m)

add_executable(fuzz_httpmsg ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_httpmsg.c
  ${PROJECT_SOURCE_DIR}/engine/httpmsg.c)
target_include_directories(fuzz_httpmsg PRIVATE ${PROJECT_SOURCE_DIR}/engine)
target_compile_options(fuzz_httpmsg PRIVATE ${CLAW_FUZZ_FLAGS})
target_link_options(fuzz_httpmsg PRIVATE ${CLAW_FUZZ_FLAGS})
