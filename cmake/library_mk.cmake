# ssmem_read_library_mk(FILE): set one variable per `NAME := words` line of FILE
# (tools/library.mk: the library's sources and flags, which the Makefile's plain build
# includes), as a list of its words. A line of another form is an error, so that the file
# cannot say something here that make reads otherwise (no references, no continuation lines).
function(ssmem_read_library_mk file)
  file(STRINGS "${file}" lines)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${file}")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*(#.*)?$")
      continue()
    endif()
    if(NOT line MATCHES "^(SSMEM_[A-Z_]+) := ([^#$\\\\]*)$")
      message(FATAL_ERROR "${file}: not a `SSMEM_NAME := words` line: ${line}")
    endif()
    set(name "${CMAKE_MATCH_1}")
    separate_arguments(words UNIX_COMMAND "${CMAKE_MATCH_2}")
    set(${name} "${words}" PARENT_SCOPE)
  endforeach()
endfunction()
