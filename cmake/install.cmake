# `cmake --install`: headers, the library (static, or shared with -DBUILD_SHARED_LIBS=ON), the CLI,
# a CMake package (find_package(convkit) -> convkit::convkit) and a pkg-config file (convkit.pc).
# tests/install/ builds examples/train_cnn.cpp against the installed copy both ways.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/convkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS convkit EXPORT convkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The installed CLI finds a shared libconvkit next to it, wherever the prefix is.
file(RELATIVE_PATH CONVKIT_BIN_TO_LIB /p/${CMAKE_INSTALL_BINDIR} /p/${CMAKE_INSTALL_LIBDIR})
set_target_properties(convkit_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${CONVKIT_BIN_TO_LIB}")
install(TARGETS convkit_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(CONVKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/convkit)
install(EXPORT convkitTargets NAMESPACE convkit:: DESTINATION ${CONVKIT_CMAKE_DIR})
configure_package_config_file(cmake/convkitConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/convkitConfig.cmake
                              INSTALL_DESTINATION ${CONVKIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/convkitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/convkitConfig.cmake
              ${PROJECT_BINARY_DIR}/convkitConfigVersion.cmake
        DESTINATION ${CONVKIT_CMAKE_DIR})

# pkg-config: a static libconvkit.a needs its private dependencies on the link line too
# (`pkg-config --static`); a shared one carries them itself.
set(CONVKIT_PC_OPENCV_LIBS "")
foreach(m core imgproc imgcodecs)
  string(APPEND CONVKIT_PC_OPENCV_LIBS " -lopencv_${m}")
endforeach()
# MPI's flags come from its own pkg-config module (OpenMPI keeps libmpi off the default path).
set(CONVKIT_PC_REQUIRES_PRIVATE "")
if(CONVKIT_MPI)
  set(CONVKIT_PC_REQUIRES_PRIVATE "Requires.private: ompi-c")
endif()
file(RELATIVE_PATH CONVKIT_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(cmake/convkit.pc.in ${PROJECT_BINARY_DIR}/convkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/convkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
