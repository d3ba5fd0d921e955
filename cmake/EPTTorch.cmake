# LibTorch from the `torch` wheel of the build's Python environment, found through torch.utils.cmake_prefix_path.
# Only its CPU libraries are linked (torch_cpu, c10): the plugin then loads next to any torch build users have, and
# links no CUDA runtime of its own. Sets Torch_VERSION and EPT_TORCH_LIBRARY_DIR.
set(_ept_torch_hint "install it into that environment (`pip install torch==2.15.0`, or `./run build`)")
include(EPTPythonQuery)
ept_python_query(_torch_out torch
  "import torch, torch.utils; print(torch.__version__.split('+')[0]); print(torch.utils.cmake_prefix_path)"
  "${_ept_torch_hint}")
list(GET _torch_out 0 Torch_VERSION)
list(GET _torch_out 1 _torch_prefix)
if(Torch_VERSION VERSION_LESS EPT_MIN_TORCH_VERSION)
  message(FATAL_ERROR "torch: found ${Torch_VERSION} (${_torch_prefix}), but openmm-ept needs ${EPT_MIN_TORCH_VERSION} "
                      "or newer: ${_ept_torch_hint}.")
endif()
# The wheel's CMake config looks for the CUDA toolkit of a CUDA build of torch, and would run a program to detect
# GPUs unless told which architectures to target (nothing here compiles CUDA yet).
if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0")
endif()
list(PREPEND CMAKE_PREFIX_PATH "${_torch_prefix}")
find_package(Torch REQUIRED CONFIG)
get_target_property(_torch_cpu_location torch_cpu IMPORTED_LOCATION_RELEASE)
if(NOT _torch_cpu_location)
  get_target_property(_torch_cpu_location torch_cpu IMPORTED_LOCATION)
endif()
get_filename_component(EPT_TORCH_LIBRARY_DIR "${_torch_cpu_location}" DIRECTORY)
# The c10d Gloo headers include <gloo/...>, which the wheel does not ship; Debian's libgloo-dev provides them
# (headers only: the Gloo code itself is the copy inside libtorch_cpu).
find_path(EPT_GLOO_INCLUDE_DIR gloo/algorithm.h)
if(NOT EPT_GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "Gloo headers not found: the torch wheel does not ship them; install Debian's libgloo-dev "
                      "(`apt-get install libgloo-dev`, or `./run build`).")
endif()
add_library(ept_torch INTERFACE)
target_link_libraries(ept_torch INTERFACE torch_cpu c10)
target_include_directories(ept_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
