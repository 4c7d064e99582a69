#include "usecase/stack.hpp"

#include "stack/stack_output.hpp"
#include "stack/stack_rules.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::usecase {
namespace {

std::vector<stack::Finding> findings_of(const stack::StackReport& report) {
    return stack::stack_findings(report);
}

std::vector<stack::Finding> findings_of(const stack::PidStackReport& report) {
    std::vector<stack::Finding> findings;
    for (const auto& group : report.groups) {
        auto more = stack::stack_findings(group.stack);
        findings.insert(findings.end(), more.begin(), more.end());
    }
    return findings;
}

}  // namespace

Result<StackResult> inspect_stack(const StackRequest& request) {
    if (request.path.empty() == (request.pid == 0))
        return fail(ErrorKind::usage, "give exactly one of --path PATH or --pid PID", "see iodiag stack --help");
    stack::SysRoot root(request.root);
    if (!root.is_live() && !root.is_dir("/"))
        return fail(ErrorKind::usage, "--root " + request.root + " is not a folder");

    stack::StackInspector inspector(root);
    StackResult result;
    result.path = request.path;
    result.pid = request.pid;
    if (!request.path.empty()) {
        auto report = inspector.inspect_path(request.path);
        if (!report) return tl::unexpected(report.error());
        result.report = std::move(*report);
    } else {
        auto report = inspector.inspect_pid(request.pid);
        if (!report) return tl::unexpected(report.error());
        result.report = std::move(*report);
    }
    result.findings = std::visit([](const auto& report) { return findings_of(report); }, result.report);
    result.virtualization = stack::detect_virtualization(root, root.is_live() ? stack::read_cpuid() : std::nullopt);
    auto guest = stack::guest_findings(result.virtualization);
    result.findings.insert(result.findings.end(), guest.begin(), guest.end());
    return result;
}

nlohmann::ordered_json to_json(const StackResult& result) {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    if (result.path.empty()) json["target"] = {{"pid", result.pid}};
    else json["target"] = {{"path", result.path}};
    json["stack"] = std::visit([](const auto& report) { return stack::to_json(report); }, result.report);
    json["virtualization"] = stack::to_json(result.virtualization);
    json["findings"] = stack::to_json(result.findings);
    return json;
}

}  // namespace iodiag::usecase
