#include "usecase/kvm_inspect.hpp"

#include "model/workload_model.hpp"
#include "stack/kvm_output.hpp"
#include "stack/kvm_rules.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::usecase {
namespace {

Result<stack::KvmReport> inspect_file(const stack::KvmInspector& inspector, const KvmRequest& request) {
    const bool cmdline = !request.cmdline_file.empty();
    const std::string& file = cmdline ? request.cmdline_file : request.domxml_file;
    auto text = stack::KvmInspector::read_input_file(file);
    if (!text) return tl::unexpected(text.error());
    auto report = cmdline ? inspector.inspect_cmdline(*text) : inspector.inspect_domain_xml(*text);
    if (!report) {
        Error error = report.error();
        error.message = file + ": " + error.message;
        return tl::unexpected(error);
    }
    return report;
}

}  // namespace

Result<KvmInspection> inspect_kvm(const KvmRequest& request) {
    const int inputs = (request.pid ? 1 : 0) + (request.cmdline_file.empty() ? 0 : 1) +
                       (request.domxml_file.empty() ? 0 : 1);
    if (inputs != 1)
        return fail(ErrorKind::usage, "give exactly one of --pid PID, --cmdline FILE or --domxml FILE",
                    "see iodiag kvm inspect --help");
    stack::SysRoot root(request.root);
    if (!root.is_live() && !root.is_dir("/"))
        return fail(ErrorKind::usage, "--root " + request.root + " is not a folder");

    stack::WorkloadHint hint;
    if (!request.model_file.empty()) {
        auto model = model::load_model(request.model_file);
        if (!model) return tl::unexpected(model.error());
        hint = stack::workload_hint(*model);
        hint.source = request.model_file + ", " + hint.source;
    }

    stack::KvmInspector inspector(root, {request.host_stack});
    auto report = request.pid ? inspector.inspect_pid(request.pid) : inspect_file(inspector, request);
    if (!report) return tl::unexpected(report.error());
    KvmInspection inspection{std::move(*report), {}};
    inspection.findings = stack::kvm_findings(inspection.report, hint);
    return inspection;
}

nlohmann::ordered_json to_json(const KvmInspection& inspection) {
    auto json = stack::to_json(inspection.report);
    json["findings"] = stack::to_json(inspection.findings);
    return json;
}

}  // namespace iodiag::usecase
