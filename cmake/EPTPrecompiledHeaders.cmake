# Torch headers are compiled once, in libept's precompiled header, and reused by every target that includes
# them. A PCH only fits objects built with the same code model: executables are built -fPIC (not -fPIE) for it.
function(ept_reuse_torch_pch target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM ept)
endfunction()
