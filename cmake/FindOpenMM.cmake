# OpenMM from the `openmm` wheel of the build's Python environment (Python3_EXECUTABLE): headers in
# OpenMM.libs/include, libraries in OpenMM.libs/lib, OpenMM's own plugins in OpenMM.libs/lib/plugins and the SWIG
# interface files in OpenMM.libs/include/swig. Never a system OpenMM: the plugin must load into the OpenMM that
# users' scripts import.
# Sets: OpenMM::OpenMM (imported target), OpenMM_VERSION, OpenMM_LIBRARY_DIR, OpenMM_PLUGIN_DIR, OpenMM_SWIG_DIR.
set(_ept_openmm_hint "install it into that environment (`pip install openmm==8.6.1`, or `./run build`)")
include(EPTPythonQuery)
ept_python_query(_openmm_out openmm
  "import openmm.version as v; print(v.short_version); print(v.openmm_library_path)" "${_ept_openmm_hint}")
list(GET _openmm_out 0 OpenMM_VERSION)
list(GET _openmm_out 1 OpenMM_LIBRARY_DIR)
get_filename_component(_openmm_root "${OpenMM_LIBRARY_DIR}" DIRECTORY)
set(OpenMM_INCLUDE_DIR "${_openmm_root}/include")
set(OpenMM_PLUGIN_DIR "${OpenMM_LIBRARY_DIR}/plugins")
set(OpenMM_SWIG_DIR "${OpenMM_INCLUDE_DIR}/swig")
if(OpenMM_FIND_VERSION AND OpenMM_VERSION VERSION_LESS OpenMM_FIND_VERSION)
  message(FATAL_ERROR "OpenMM: found ${OpenMM_VERSION} at ${_openmm_root}, but openmm-ept needs ${OpenMM_FIND_VERSION} "
                      "or newer (its wheel, with the C++11 ABI and SWIG files): ${_ept_openmm_hint}.")
endif()
find_library(OpenMM_LIBRARY OpenMM PATHS "${OpenMM_LIBRARY_DIR}" NO_DEFAULT_PATH)
if(NOT OpenMM_LIBRARY OR NOT EXISTS "${OpenMM_INCLUDE_DIR}/openmm/Force.h" OR NOT EXISTS "${OpenMM_SWIG_DIR}/OpenMMSwigHeaders.i")
  message(FATAL_ERROR "OpenMM: the openmm ${OpenMM_VERSION} at ${_openmm_root} has no C++ library, headers or SWIG "
                      "files (OpenMM.libs/lib, include, include/swig); openmm-ept needs the PyPI wheel: ${_ept_openmm_hint}.")
endif()
if(NOT TARGET OpenMM::OpenMM)
  add_library(OpenMM::OpenMM SHARED IMPORTED)
  set_target_properties(OpenMM::OpenMM PROPERTIES IMPORTED_LOCATION "${OpenMM_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${OpenMM_INCLUDE_DIR}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenMM REQUIRED_VARS OpenMM_LIBRARY OpenMM_INCLUDE_DIR VERSION_VAR OpenMM_VERSION)
