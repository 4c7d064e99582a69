// VM exits by reason from trace_pipe lines in the format the kernel prints them (6.x's kvm_exit
// with "vcpu N", 5.10's without it, SVM's lower-case reasons, userspace exits, MSI injection and
// the ring buffer's LOST notice): the path `kvm trace` takes on a KVM host, which this machine
// (no hardware virtualisation) cannot produce live.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "analysis/kvm_exits.hpp"

using namespace iodiag::analysis;

TEST_CASE("kvm exits: one trace_pipe line gives thread, event and reason", "[kvm_exits]") {
    auto line = parse_kvm_trace_line(
        " CPU 0/KVM-4242    [001] d..1. 8123.000101: kvm_exit: vcpu 0 reason EPT_MISCONFIG rip 0xffffffff81a3c2d4 "
        "info1 0x0 info2 0x0 intr_info 0x00000000 error_code 0x00000000 requests 0x0");
    REQUIRE(line);
    CHECK(line->tid == 4242);
    CHECK(line->event == "kvm_exit");
    CHECK(line->reason == "EPT_MISCONFIG");

    auto spaced = parse_kvm_trace_line(" CPU 1/KVM-4243 [000] d..1. 1.0: kvm_exit: vcpu 1 reason DE excp rip 0x1 info1 0x0");
    REQUIRE(spaced);
    CHECK(spaced->reason == "DE excp");

    auto userspace = parse_kvm_trace_line(" CPU 0/KVM-4242 [001] d..1. 1.0: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)");
    REQUIRE(userspace);
    CHECK(userspace->reason == "KVM_EXIT_MMIO");

    CHECK_FALSE(parse_kvm_trace_line("garbage"));
    CHECK_FALSE(parse_kvm_trace_line(" CPU 0/KVM-4242 [001] d..1. 1.0: sched_switch: prev_comm=x"));
    CHECK(lost_events("CPU:1 [LOST 42 EVENTS]") == 42);
    CHECK(lost_events(" CPU 0/KVM-4242 [001] d..1. 1.0: kvm_entry: vcpu 0") == 0);
}

TEST_CASE("kvm exits: a recorded trace_pipe is counted by reason and thread", "[kvm_exits]") {
    std::ifstream in(std::string(IODIAG_TEST_DATA) + "/kvm/kvm_trace_pipe.txt");
    REQUIRE(in);
    KvmExitCounts counts;
    for (std::string line; std::getline(in, line);) counts.add_line(line);

    CHECK(counts.exits() == 8);
    CHECK(counts.exit_reasons().at("EPT_MISCONFIG") == 2);
    CHECK(counts.exit_reasons().at("HLT") == 1);
    CHECK(counts.exit_reasons().at("npf") == 1);                   // AMD SVM
    CHECK(counts.exit_reasons().at("IO_INSTRUCTION") == 1);        // 5.10's form, no "vcpu N"
    CHECK(counts.exit_reasons().at("MSR_WRITE FAILED_VMENTRY") == 1);
    CHECK(counts.userspace_exits() == 3);
    CHECK(counts.userspace_reasons().at("KVM_EXIT_MMIO") == 1);
    CHECK(counts.userspace_reasons().at("restart") == 1);
    CHECK(counts.interrupts() == 2);
    CHECK(counts.lost() == 42);
    CHECK(counts.exits_by_thread().at(4242) == 6);
    CHECK(counts.exits_by_thread().at(4243) == 2);

    const auto json = counts.to_json(2.0);
    CHECK(json["exits_per_s"].get<double>() == Approx(4.0));
    CHECK(json["reasons"][0]["reason"] == "EPT_MISCONFIG");   // most first
    CHECK(json["reasons"][0]["per_s"].get<double>() == Approx(1.0));
    CHECK(json["interrupts"] == 2);
    CHECK(json["lost"] == 42);
}
