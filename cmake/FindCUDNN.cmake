# FindCUDNN - cuDNN 9 from a system install or from the Python wheel layout.
#
# A system install has cudnn.h beside the CUDA headers or under /usr/include[/<triplet>] and
# libcudnn.so in a library folder. The wheel (nvidia-cudnn-cu13) has nvidia/cudnn/include/cudnn.h
# and only the versioned libcudnn.so.9 (no unversioned link), so the versioned name is searched too.
# Hints: CUDNN_ROOT (environment or cache). Result: CUDNN::cudnn, CUDNN_SOURCE ("system" or
# "python wheel: <dir>"), CUDNN_VERSION, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY_DIR.

set(_cudnn_hints $ENV{CUDNN_ROOT} ${CUDNN_ROOT})
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints ${CUDAToolkit_LIBRARY_ROOT})
endif()
# Python wheels: ask the interpreter where site-packages are, if there is one.
find_program(_cudnn_python NAMES python3 python)
set(_cudnn_wheel_dirs "")
if(_cudnn_python)
  execute_process(COMMAND ${_cudnn_python} -c
    "import site,sys; print(';'.join(site.getsitepackages()+[site.getusersitepackages()]))"
    OUTPUT_VARIABLE _site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  foreach(d ${_site})
    if(EXISTS ${d}/nvidia/cudnn/include/cudnn.h)
      list(APPEND _cudnn_wheel_dirs ${d}/nvidia/cudnn)
    endif()
  endforeach()
endif()

find_path(CUDNN_INCLUDE_DIR cudnn.h
  HINTS ${_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS}
  PATHS /usr/include /usr/include/x86_64-linux-gnu /usr/local/include
  PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
  HINTS ${_cudnn_hints} ${CUDAToolkit_LIBRARY_DIR}
  PATHS /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/lib
  PATH_SUFFIXES lib lib64)
set(CUDNN_SOURCE "system")
if((NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY) AND _cudnn_wheel_dirs)
  list(GET _cudnn_wheel_dirs 0 _w)
  find_path(CUDNN_INCLUDE_DIR cudnn.h PATHS ${_w}/include NO_DEFAULT_PATH)
  find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 PATHS ${_w}/lib NO_DEFAULT_PATH)
  set(CUDNN_SOURCE "python wheel: ${_w}")
endif()

if(CUDNN_INCLUDE_DIR)
  foreach(_h cudnn_version.h cudnn.h)
    if(EXISTS ${CUDNN_INCLUDE_DIR}/${_h})
      file(STRINGS ${CUDNN_INCLUDE_DIR}/${_h} _v REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
      if(_v)
        string(REGEX REPLACE ".*CUDNN_MAJOR +([0-9]+).*" "\\1" _maj "${_v}")
        string(REGEX REPLACE ".*CUDNN_MINOR +([0-9]+).*" "\\1" _min "${_v}")
        string(REGEX REPLACE ".*CUDNN_PATCHLEVEL +([0-9]+).*" "\\1" _pat "${_v}")
        set(CUDNN_VERSION "${_maj}.${_min}.${_pat}")
        break()
      endif()
    endif()
  endforeach()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR
                                  VERSION_VAR CUDNN_VERSION)
if(CUDNN_FOUND)
  get_filename_component(CUDNN_LIBRARY_DIR ${CUDNN_LIBRARY} DIRECTORY)
  if(NOT TARGET CUDNN::cudnn)
    add_library(CUDNN::cudnn UNKNOWN IMPORTED)
    set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION ${CUDNN_LIBRARY}
                          INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
  endif()
  message(STATUS "cuDNN ${CUDNN_VERSION} (${CUDNN_SOURCE}): ${CUDNN_LIBRARY}, headers ${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
