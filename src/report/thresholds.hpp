// Every threshold the findings rules use, in one place (README: "Findings and their thresholds").
// They are rules of thumb from the analysis note's method, not laws: each finding shows the
// measured numbers beside the threshold so a reader can judge.
#pragma once

#include <cstdint>

namespace iodiag::report::threshold {

// A group must do at least this many IOs before workload rules speak about it.
inline constexpr uint64_t kMinOps = 100;
// "Many queue tags": a disk that accepts this many requests at once is wasted at depth 1.
inline constexpr int64_t kManyTags = 16;
// Writes smaller than this through the page cache are "small buffered writes".
inline constexpr uint64_t kSmallWriteBytes = 16 * 1024;
// A thread that spends this share of the traced time inside IO calls "waits on IO most of the time".
inline constexpr double kIoBoundShare = 0.5;
// Off-CPU time in the "preempted" state above this share of all off-CPU time: CPU contention.
inline constexpr double kPreemptedShare = 0.2;
// Block queue (Q2D) p50 above the device (D2C) p50 and above this many µs: the queue dominates.
inline constexpr double kQueueDominatesMinUs = 20;
// Syscall p50 this many times the device's p50 (and above kSyscallMinUs): time above the block layer.
inline constexpr double kSyscallOverDevice = 3.0;
inline constexpr double kSyscallMinUs = 100;
// Flush p99 this many times its p50 (and above kFlushTailMinUs): a long flush tail.
inline constexpr double kFlushTailRatio = 10.0;
inline constexpr double kFlushTailMinUs = 1000;
// A device whose median request takes this long (µs) is slow: solid state, then rotational.
inline constexpr double kSlowDeviceUs = 5'000;
inline constexpr double kSlowRotationalUs = 20'000;
// The reproduced job's IOPS off the observed by more than this share: something outside the workload.
inline constexpr double kReproduceTolerance = 0.25;
// One direct IO at depth 1 taking longer than this (µs, p50) on solid state: a slow stack.
inline constexpr double kDepth1SlowUs = 1'000;
// A synced write costing this many times a plain direct write (p50): the flush is the cost.
inline constexpr double kFlushCostRatio = 3.0;
// Read-ahead larger than this (KiB) under small random buffered reads reads data nobody asked for.
inline constexpr int64_t kLargeReadAheadKb = 128;

// The virtualisation layer adding this share (or more) of the guest's p50 latency: worth acting on.
inline constexpr double kVirtualisationShare = 0.3;
// One step of a guest request on the host taking this share (or more) of the host-side time: it
// is where the host side's time goes.
inline constexpr double kHostStepShare = 0.4;

}  // namespace iodiag::report::threshold
