# Where `pip install .` (or `cmake --install`) puts things, relative to the install prefix (site-packages for a
# wheel), and the run paths installed binaries get.
set(EPT_INSTALL_PACKAGE openmmept)
set(EPT_INSTALL_LIB ${EPT_INSTALL_PACKAGE}/lib)
set(EPT_INSTALL_PLUGINS ${EPT_INSTALL_PACKAGE}/plugins)
set(EPT_INSTALL_MODELS ${EPT_INSTALL_PACKAGE}/models)
if(DEFINED SKBUILD_SCRIPTS_DIR)
  set(EPT_INSTALL_BIN ${SKBUILD_SCRIPTS_DIR})
else()
  set(EPT_INSTALL_BIN bin)
endif()
# From the scripts folder (the `ept` command) to site-packages, in the environment built for.
execute_process(COMMAND "${Python3_EXECUTABLE}" -c
  "import os, sysconfig; print(os.path.relpath(sysconfig.get_path('platlib'), sysconfig.get_path('scripts')))"
  OUTPUT_VARIABLE EPT_SCRIPTS_TO_SITE_PACKAGES OUTPUT_STRIP_TRAILING_WHITESPACE)

# ept_install_rpath(target path-from-target-to-site-packages): $ORIGIN paths to our libraries and to torch's and
# OpenMM's in the same site-packages (an installed package still loads if the environment moves), then the
# absolute folders this build linked against.
function(ept_install_rpath target to_site_packages)
  set(p "$ORIGIN/${to_site_packages}")
  set_target_properties(${target} PROPERTIES INSTALL_RPATH
    "${p}/${EPT_INSTALL_LIB};${p}/torch/lib;${p}/OpenMM.libs/lib;${EPT_TORCH_LIBRARY_DIR};${OpenMM_LIBRARY_DIR}")
endfunction()
