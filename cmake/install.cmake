# Installation: headers under include/lsekit/, the static libraries, the CMake package
# (lsekitConfig.cmake + version file, target lsekit::lsekit) and lsekit.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(LSEKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lsekit)

foreach(dir core problems solvers data tasks)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lsekit/${dir}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/include/lsekit/lsekit.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lsekit)

install(TARGETS lsekit_core lsekit_solvers lsekit_data lsekit_tasks lsekit_lib
        EXPORT lsekitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT lsekitTargets NAMESPACE lsekit:: DESTINATION ${LSEKIT_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lsekitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lsekitConfig.cmake INSTALL_DESTINATION ${LSEKIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lsekitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lsekitConfig.cmake ${PROJECT_BINARY_DIR}/lsekitConfigVersion.cmake
        DESTINATION ${LSEKIT_CMAKE_DIR})

# pkg-config: static libraries, so their dependencies go into Libs (not Libs.private).
set(LSEKIT_PC_CFLAGS "-fopenmp")
if(LSEKIT_NATIVE)
  string(APPEND LSEKIT_PC_CFLAGS " -march=native")
endif()
set(LSEKIT_PC_INCLUDES ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
list(REMOVE_DUPLICATES LSEKIT_PC_INCLUDES)
foreach(dir IN LISTS LSEKIT_PC_INCLUDES)
  string(APPEND LSEKIT_PC_CFLAGS " -I${dir}")
endforeach()
set(LSEKIT_PC_LIBS "")
set(LSEKIT_PC_LIBRARIES ${HDF5_C_LIBRARIES} ${ZLIB_LIBRARIES})
list(REMOVE_DUPLICATES LSEKIT_PC_LIBRARIES)
foreach(lib IN LISTS LSEKIT_PC_LIBRARIES)
  string(APPEND LSEKIT_PC_LIBS " ${lib}")
endforeach()
string(APPEND LSEKIT_PC_LIBS " -fopenmp")
# prefix relative to the .pc file, so that the installed tree can be moved (cmake --install --prefix).
file(RELATIVE_PATH LSEKIT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
configure_file(${PROJECT_SOURCE_DIR}/cmake/lsekit.pc.in ${PROJECT_BINARY_DIR}/lsekit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lsekit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
