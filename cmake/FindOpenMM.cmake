# OpenMM (Debian's libopenmm-dev ships no CMake package): imported target OpenMM::OpenMM and the directory of
# OpenMM's own plugins.
find_path(OpenMM_INCLUDE_DIR openmm/Force.h)
find_library(OpenMM_LIBRARY OpenMM)
get_filename_component(_openmm_libdir "${OpenMM_LIBRARY}" DIRECTORY)
set(OpenMM_PLUGIN_DIR "${_openmm_libdir}/openmm/plugins" CACHE PATH "OpenMM's plugin directory")
if(OpenMM_LIBRARY AND NOT TARGET OpenMM::OpenMM)
  add_library(OpenMM::OpenMM SHARED IMPORTED)
  set_target_properties(OpenMM::OpenMM PROPERTIES IMPORTED_LOCATION ${OpenMM_LIBRARY}
                                                  INTERFACE_INCLUDE_DIRECTORIES ${OpenMM_INCLUDE_DIR})
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenMM REQUIRED_VARS OpenMM_INCLUDE_DIR OpenMM_LIBRARY)
