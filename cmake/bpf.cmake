# BPF objects: bpf/<tracer>.bpf.c -> <tracer>.bpf.o (clang, CO-RE) -> <tracer>.skel.h (bpftool).
#
# vmlinux.h is generated at build time from the build machine's kernel BTF
# (/sys/kernel/btf/vmlinux) rather than pinned in the repo: CO-RE relocates field offsets at load
# time, so any recent kernel's BTF works as the type source, and a machine without BTF could not
# load CO-RE programs anyway. Without BTF, clang or bpftool, the BPF tracers are left out and
# iodiag's bpf source reports why (IODIAG_HAVE_BPF is 0).

find_program(IODIAG_CLANG NAMES clang clang-14 clang-15 clang-16)
find_program(IODIAG_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
pkg_check_modules(LIBBPF libbpf)
set(IODIAG_BTF_SOURCE "/sys/kernel/btf/vmlinux" CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")

set(IODIAG_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
set(IODIAG_HAVE_BPF OFF)
if(IODIAG_CLANG AND IODIAG_BPFTOOL AND LIBBPF_FOUND AND EXISTS ${IODIAG_BTF_SOURCE})
  set(IODIAG_HAVE_BPF ON)
  file(MAKE_DIRECTORY ${IODIAG_BPF_OUT})
  add_custom_command(
    OUTPUT ${IODIAG_BPF_OUT}/vmlinux.h
    COMMAND ${IODIAG_BPFTOOL} btf dump file ${IODIAG_BTF_SOURCE} format c > ${IODIAG_BPF_OUT}/vmlinux.h
    COMMENT "Generating vmlinux.h from ${IODIAG_BTF_SOURCE}"
    VERBATIM)
  add_custom_target(iodiag_vmlinux_h DEPENDS ${IODIAG_BPF_OUT}/vmlinux.h)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set(IODIAG_BPF_ARCH x86)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
    set(IODIAG_BPF_ARCH arm64)
  else()
    set(IODIAG_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
  endif()
  message(STATUS "BPF tracers: on (clang ${IODIAG_CLANG}, bpftool ${IODIAG_BPFTOOL}, libbpf ${LIBBPF_VERSION})")
else()
  message(STATUS "BPF tracers: off (need clang, bpftool, libbpf and ${IODIAG_BTF_SOURCE})")
endif()

set(IODIAG_BPF_SKELETONS "")

# iodiag_bpf_object(NAME): builds bpf/NAME.bpf.c into NAME.skel.h (struct iodiag_NAME).
function(iodiag_bpf_object name)
  if(NOT IODIAG_HAVE_BPF)
    return()
  endif()
  set(src ${CMAKE_SOURCE_DIR}/bpf/${name}.bpf.c)
  set(obj ${IODIAG_BPF_OUT}/${name}.bpf.o)
  set(skel ${IODIAG_BPF_OUT}/${name}.skel.h)
  file(GLOB shared_headers ${CMAKE_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${IODIAG_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${IODIAG_BPF_ARCH}
            -Wall -Werror -Wno-unused-function
            -I${IODIAG_BPF_OUT} -I${CMAKE_SOURCE_DIR}/bpf
            -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -c ${src} -o ${obj}
    DEPENDS ${src} ${shared_headers} ${IODIAG_BPF_OUT}/vmlinux.h
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${IODIAG_BPFTOOL} gen skeleton ${obj} name iodiag_${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  set(IODIAG_BPF_SKELETONS ${IODIAG_BPF_SKELETONS} ${skel} PARENT_SCOPE)
endfunction()
