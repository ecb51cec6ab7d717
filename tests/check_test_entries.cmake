# Fails unless every ctest entry that runs a Catch2 executable selects exactly one test case
# and passes `-w NoTests`, and every test case of those executables is selected by an entry.
#
# catch_discover_tests makes one ctest entry per TEST_CASE and passes the name as a Catch2
# test spec. A name that ctest or Catch2 parses differently (a ';' splits it into two entries;
# an unescaped '[' or ',' changes the spec) yields entries that match nothing and, without
# `-w NoTests`, "pass" with "No test cases matched": the test case itself never runs.
# This script asks ctest for every entry's command line (`ctest --show-only=json-v1`), asks
# the Catch2 executable which test cases that command selects (`--list-test-names-only`), and
# compares.
#
# Usage: cmake -DCTEST=<ctest> -DBUILD_DIR=<top build dir> -DEXECUTABLES=<exe1>|<exe2>...
#              -P check_test_entries.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var CTEST BUILD_DIR EXECUTABLES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_test_entries.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" listed_executables "${EXECUTABLES}")
# An executable not built here (the sanitizer pass of tools/test.sh builds only lsekit_tests)
# has no entries to check.
set(executables "")
foreach(exe IN LISTS listed_executables)
  if(EXISTS "${exe}")
    list(APPEND executables "${exe}")
  else()
    message(STATUS "not built, not checked: ${exe}")
  endif()
endforeach()

execute_process(COMMAND "${CTEST}" --show-only=json-v1 WORKING_DIRECTORY "${BUILD_DIR}"
                OUTPUT_VARIABLE json RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ctest --show-only=json-v1 failed in ${BUILD_DIR} (${rc}): ${err}")
endif()
string(JSON num_tests LENGTH "${json}" tests)

set(failures 0)
set(checked 0)
# Per executable: the list of test cases all entries selected (to find cases no entry runs).
foreach(exe IN LISTS executables)
  string(MAKE_C_IDENTIFIER "${exe}" id)
  set(selected_${id} "")
endforeach()

math(EXPR last "${num_tests} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" tests ${i} name)
  string(JSON has_command ERROR_VARIABLE no_command GET "${json}" tests ${i} command)
  if(no_command)
    continue()
  endif()
  string(JSON argc LENGTH "${json}" tests ${i} command)
  string(JSON exe GET "${json}" tests ${i} command 0)
  if(NOT exe IN_LIST executables)
    continue()
  endif()
  # The entry's arguments, minus the ones that would run or report instead of listing.
  set(args "")
  if(argc GREATER 1)
    math(EXPR last_arg "${argc} - 1")
    foreach(a RANGE 1 ${last_arg})
      string(JSON arg GET "${json}" tests ${i} command ${a})
      if(NOT arg STREQUAL "")
        list(APPEND args "${arg}")
      endif()
    endforeach()
  endif()
  # The entry must also fail by itself if it matches nothing (catch_discover_tests EXTRA_ARGS).
  list(FIND args "NoTests" no_tests_at)
  if(no_tests_at LESS 1)
    message(SEND_ERROR "ctest entry '${name}' does not pass '-w NoTests' to ${exe}")
    math(EXPR failures "${failures} + 1")
  else()
    math(EXPR warn_at "${no_tests_at} - 1")
    list(GET args ${warn_at} warn_flag)
    if(NOT warn_flag MATCHES "^(-w|--warn)$")
      message(SEND_ERROR "ctest entry '${name}': 'NoTests' not preceded by -w / --warn")
      math(EXPR failures "${failures} + 1")
    endif()
  endif()
  execute_process(COMMAND "${exe}" ${args} --list-test-names-only
                  OUTPUT_VARIABLE listed ERROR_VARIABLE listed_err)
  string(REGEX REPLACE "\n+$" "" listed "${listed}")
  if(listed STREQUAL "")
    set(cases "")
  else()
    string(REPLACE ";" "\\;" listed "${listed}")
    string(REPLACE "\n" ";" cases "${listed}")
  endif()
  list(LENGTH cases count)
  math(EXPR checked "${checked} + 1")
  if(NOT count EQUAL 1)
    message(SEND_ERROR "ctest entry '${name}' selects ${count} test cases (expected exactly 1)"
                       " of ${exe}: '${cases}'")
    math(EXPR failures "${failures} + 1")
  endif()
  string(MAKE_C_IDENTIFIER "${exe}" id)
  list(APPEND selected_${id} ${cases})
endforeach()

foreach(exe IN LISTS executables)
  execute_process(COMMAND "${exe}" --list-test-names-only OUTPUT_VARIABLE all)
  string(REGEX REPLACE "\n+$" "" all "${all}")
  string(REPLACE ";" "\\;" all "${all}")
  string(REPLACE "\n" ";" all "${all}")
  string(MAKE_C_IDENTIFIER "${exe}" id)
  foreach(case IN LISTS all)
    if(NOT case IN_LIST selected_${id})
      message(SEND_ERROR "test case '${case}' of ${exe} is run by no ctest entry")
      math(EXPR failures "${failures} + 1")
    endif()
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "no ctest entry runs any of: ${EXECUTABLES} (wrong build dir?)")
endif()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} problem(s) among ${checked} Catch2 ctest entries")
endif()
message(STATUS "${checked} Catch2 ctest entries, each selects exactly one test case; "
               "every test case is run")
