// How a use case tells its caller what it is doing, without printing anything itself: the CLI
// turns these into lines on stderr, the diagnosis wizard into its step display.
#pragma once

#include <string_view>

namespace iodiag::usecase {

class Observer {
public:
    virtual ~Observer() = default;
    // A one-line remark worth showing: the source chosen and why, a fallback, a phase starting
    // ("laying out the data files", "running fio for 10s").
    virtual void note(std::string_view message) { (void)message; }
    // A line that marks a long phase, such as fio running ("running fio job.fio in DIR ..."). The
    // CLI shows it bare, like a tool's own progress; elsewhere it is just a note.
    virtual void progress(std::string_view line) { note(line); }
    // A tracer's live status ("iodiag: bpf 3s  120 events/s ..."), once a second: each line
    // replaces the previous one where the display can; status_end() follows the last one.
    virtual void status(std::string_view line) { (void)line; }
    virtual void status_end() {}
};

// For callers that want no remarks (tests, batch steps that log elsewhere).
inline Observer& silent_observer() {
    static Observer observer;
    return observer;
}

}  // namespace iodiag::usecase
