// `iodiag diagnose`: the guided diagnosis (a playbook's steps over a session folder, ending with
// the findings report). `iodiag report DIR`: writes a session's report again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct DiagnoseOptions {
    int32_t pid = 0;
    bool children = false;
    std::vector<std::string> command;
    std::string playbook;
    std::string session;
    std::string resume;
    std::string answers;
    bool yes = false;
    bool json = false;
    bool list_playbooks = false;
    bool progress = false;
};

void add_diagnose_command(CLI::App& app, DiagnoseOptions& options);
int run_diagnose(const DiagnoseOptions& options);

struct ReportOptions {
    std::string dir;
    std::string output;
    std::string format;   // md, html, json; empty: all three into DIR (or from -o's extension)
};

void add_report_command(CLI::App& app, ReportOptions& options);
int run_report(const ReportOptions& options);

}  // namespace iodiag::cli
