# Debian's librdkit-dev ships no CMake package: make imported targets RDKit::<Name>.
# RDGeneral, RDGeometryLib and ForceField sit in the interface of the graph libraries,
# otherwise the linker reports "DSO missing from command line".
find_path(RDKit_INCLUDE_DIR GraphMol/ROMol.h PATH_SUFFIXES rdkit)
find_library(RDKit_GraphMol_LIBRARY RDKitGraphMol)
set(_rdkit_components RDGeneral RDGeometryLib DataStructs GraphMol SmilesParse FileParsers
    SubstructMatch Depictor DistGeometry DistGeomHelpers ForceField ForceFieldHelpers
    MolTransforms EigenSolvers Alignment Optimizer Trajectory ChemTransforms)
set(RDKit_LIBRARIES)
foreach(_c ${_rdkit_components})
  find_library(RDKit_${_c}_LIBRARY RDKit${_c})
  if(RDKit_${_c}_LIBRARY AND NOT TARGET RDKit::${_c})
    add_library(RDKit::${_c} SHARED IMPORTED)
    set_target_properties(RDKit::${_c} PROPERTIES
      IMPORTED_LOCATION ${RDKit_${_c}_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${RDKit_INCLUDE_DIR})
    list(APPEND RDKit_LIBRARIES RDKit::${_c})
  endif()
endforeach()
if(TARGET RDKit::GraphMol)
  set_property(TARGET RDKit::GraphMol APPEND PROPERTY INTERFACE_LINK_LIBRARIES
    RDKit::RDGeneral RDKit::RDGeometryLib RDKit::DataStructs)
  set_property(TARGET RDKit::DistGeomHelpers APPEND PROPERTY INTERFACE_LINK_LIBRARIES
    RDKit::ForceField RDKit::DistGeometry RDKit::Optimizer RDKit::EigenSolvers RDKit::Alignment)
  set_property(TARGET RDKit::ForceFieldHelpers APPEND PROPERTY INTERFACE_LINK_LIBRARIES
    RDKit::ForceField RDKit::Optimizer RDKit::Trajectory)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RDKit REQUIRED_VARS RDKit_INCLUDE_DIR RDKit_GraphMol_LIBRARY)
