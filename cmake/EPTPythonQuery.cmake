# ept_python_query(<out-list> <package> <code> <hint>): the lines `code` prints in the build's Python
# (Python3_EXECUTABLE), as a list; stops CMake naming the package and how to install it if that fails.
function(ept_python_query out package code hint)
  execute_process(COMMAND "${Python3_EXECUTABLE}" -c "${code}"
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE error OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${package}: the Python at ${Python3_EXECUTABLE} cannot import ${package} (${error}). "
                        "openmm-ept builds against the ${package} wheel of that environment: ${hint}. "
                        "(pip builds in a throw-away environment unless told `pip install --no-build-isolation .`)")
  endif()
  string(REPLACE "\n" ";" output "${output}")
  set(${out} "${output}" PARENT_SCOPE)
endfunction()
