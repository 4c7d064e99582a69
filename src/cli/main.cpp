// iodiag's entry point: parses the command line and hands over to one subcommand. Anything a
// subcommand did not turn into an error message becomes an internal error here, never a crash.
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/cmd_demo.hpp"
#include "cli/cmd_diagnose.hpp"
#include "cli/cmd_kvm.hpp"
#include "cli/cmd_latency.hpp"
#include "cli/cmd_model.hpp"
#include "cli/cmd_offcpu.hpp"
#include "cli/cmd_probe.hpp"
#include "cli/cmd_reproduce.hpp"
#include "cli/cmd_slow.hpp"
#include "cli/cmd_stack.hpp"
#include "cli/exit_codes.hpp"
#include "common/log.hpp"

namespace {

int run(int argc, char** argv) {
    using namespace iodiag::cli;
    CLI::App app{"iodiag: models a workload's IO in fio's terms, reproduces it, inspects the IO stack under it and measures where its time goes"};
    app.set_version_flag("--version", std::string("iodiag ") + IODIAG_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // -v works before or after the subcommand
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "More detail on stderr (-vv: debug)");
    app.footer(exit_code_help());

    ModelOptions model;
    ReproduceOptions reproduce;
    ProbeOptions probe;
    DemoOptions demo;
    StackOptions stack;
    KvmOptions kvm;
    LatencyOptions latency;
    SlowOptions slow;
    OffcpuOptions offcpu;
    WakeupOptions wakeup;
    DiagnoseOptions diagnose;
    ReportOptions report;
    add_model_command(app, model);
    add_reproduce_command(app, reproduce);
    add_probe_command(app, probe);
    add_demo_command(app, demo);
    add_stack_command(app, stack);
    add_kvm_command(app, kvm);
    add_latency_command(app, latency);
    add_slow_command(app, slow);
    add_offcpu_command(app, offcpu);
    add_wakeup_command(app, wakeup);
    add_diagnose_command(app, diagnose);
    add_report_command(app, report);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return report_error({iodiag::ErrorKind::usage, e.what(), "see iodiag --help"}, wants_json(argc, argv));
    }

    iodiag::setup_logging(verbosity);
    if (app.got_subcommand("model")) return run_model(model);
    if (app.got_subcommand("reproduce")) return run_reproduce(reproduce);
    if (app.got_subcommand("probe")) return run_probe(probe);
    if (app.got_subcommand("demo")) return run_demo(demo);
    if (app.got_subcommand("stack")) return run_stack(stack);
    if (app.got_subcommand("kvm")) return run_kvm(kvm);
    if (app.got_subcommand("latency")) return run_latency(latency);
    if (app.got_subcommand("slow")) return run_slow(slow);
    if (app.got_subcommand("offcpu")) return run_offcpu(offcpu);
    if (app.got_subcommand("wakeup")) return run_wakeup(wakeup);
    if (app.got_subcommand("diagnose")) return run_diagnose(diagnose);
    if (app.got_subcommand("report")) return run_report(report);
    return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        return iodiag::cli::report_error(
            {iodiag::ErrorKind::internal, std::string("unexpected failure: ") + e.what(),
             "please report this as a bug, with the command line"},
            iodiag::cli::wants_json(argc, argv));
    } catch (...) {
        return iodiag::cli::report_error({iodiag::ErrorKind::internal, "unexpected failure", "please report this as a bug"},
                                         iodiag::cli::wants_json(argc, argv));
    }
}
