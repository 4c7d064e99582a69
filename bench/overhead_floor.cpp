// The fixed price of hooking syscalls with BPF on this kernel, for bench/overhead_floor.sh:
// attaches programs that do (almost) nothing, for SECONDS, so a workload run meanwhile shows what
// any syscall tracer pays before it does any work.
//
//   overhead_floor enter SECONDS   one no-op tp_btf program on sys_enter (bpf/feature_probe.bpf.c)
//   overhead_floor exit SECONDS    the syscall tracer's sys_exit program alone, no call selected:
//                                  it returns after one task-storage lookup
//   overhead_floor hooks SECONDS   the syscall tracer's sys_enter and sys_exit programs with no
//                                  call selected: enter returns after one rodata load, exit after
//                                  one task-storage lookup
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#if IODIAG_HAVE_BPF
#include <bpf/libbpf.h>

#include "feature_probe.skel.h"
#include "syscalls.skel.h"
#endif

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s enter|exit|hooks SECONDS\n", argv[0]);
        return 2;
    }
#if IODIAG_HAVE_BPF
    const std::string_view mode = argv[1];
    const unsigned seconds = static_cast<unsigned>(std::atoi(argv[2]));
    if (mode == "enter") {
        auto* skel = iodiag_feature_probe__open();
        if (!skel) return 1;
        bpf_program* program = nullptr;
        bpf_object__for_each_program(program, skel->obj)
            bpf_program__set_autoload(program, program == skel->progs.probe_tp_btf);
        bpf_link* link = nullptr;
        if (iodiag_feature_probe__load(skel) == 0) link = bpf_program__attach(skel->progs.probe_tp_btf);
        if (!link) return 1;
        sleep(seconds);
        bpf_link__destroy(link);
        iodiag_feature_probe__destroy(skel);
        return 0;
    }
    if (mode == "hooks" || mode == "exit") {
        const bool with_enter = mode == "hooks";
        auto* skel = iodiag_syscalls__open();
        if (!skel) return 1;
        skel->rodata->target_tgid = static_cast<unsigned>(getpid());  // call_of_nr stays empty
        bpf_program* program = nullptr;
        bpf_object__for_each_program(program, skel->obj)
            bpf_program__set_autoload(program, (with_enter && program == skel->progs.sys_enter_btf) ||
                                                   program == skel->progs.sys_exit_btf);
        if (iodiag_syscalls__load(skel) != 0) return 1;
        bpf_link* enter = with_enter ? bpf_program__attach(skel->progs.sys_enter_btf) : nullptr;
        bpf_link* exit = bpf_program__attach(skel->progs.sys_exit_btf);
        if ((with_enter && !enter) || !exit) return 1;
        sleep(seconds);
        bpf_link__destroy(enter);
        bpf_link__destroy(exit);
        iodiag_syscalls__destroy(skel);
        return 0;
    }
#endif
    std::fprintf(stderr, "unknown mode, or built without BPF\n");
    return 2;
}
