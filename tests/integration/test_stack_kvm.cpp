// `iodiag kvm inspect` against the real thing: images made by qemu-img (checked field by field
// against `qemu-img info`), a running QEMU (TCG) with an iothread, a qcow2 backing chain and a
// virtio-scsi disk, its /proc/PID/cmdline copied to a file, and bad input.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/workload_model.hpp"
#include "stack/image_format.hpp"
#include "test_stack_support.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::must_run;
using iodiag::testing::run_iodiag;
using iodiag::testing::ScratchDir;
using iodiag::testing::read_text;
using json = nlohmann::json;

namespace {

const std::string kData = std::string(IODIAG_TEST_DATA) + "/kvm/";

json qemu_img_info(const std::string& path, bool chain = false) {
    std::vector<std::string> argv{"qemu-img", "info", "--output=json"};
    if (chain) argv.push_back("--backing-chain");
    argv.push_back(path);
    return json::parse(must_run(argv));
}

// A QEMU process that is killed (and reaped) when the test leaves, however it leaves.
struct Qemu {
    pid_t pid = -1;
    std::string log;
    Qemu(const std::vector<std::string>& argv, const std::string& log_path) : log(log_path) {
        UniqueFd out(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        UniqueFd in(open("/dev/null", O_RDONLY | O_CLOEXEC));
        auto started = spawn({argv, in.get(), out.get(), out.get()});
        REQUIRE(started);
        pid = *started;
    }
    ~Qemu() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            wait_for(pid);
        }
    }
    // Until QEMU has named its vCPU threads (it is then past device setup).
    void wait_ready() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
                if (read_text(task.path().string() + "/comm").rfind("CPU ", 0) == 0) return;
            if (ec) FAIL("QEMU exited: " << read_text(log));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("QEMU did not start its vCPUs in 30 s: " << read_text(log));
    }
};

const json& disk_of(const json& report, const std::string& id) {
    for (const auto& disk : report["disks"])
        if (disk["id"] == id) return disk;
    FAIL("no disk " << id << " in " << report.dump(2));
    throw;
}

bool has_finding(const json& report, const std::string& id, const std::string& subject) {
    for (const auto& finding : report["findings"])
        if (finding["id"] == id && finding["title"].get<std::string>().rfind(subject + ":", 0) == 0) return true;
    return false;
}

}  // namespace

TEST_CASE("kvm: image headers agree with qemu-img info", "[kvm][image][qemu-img]") {
    SKIP_WITHOUT("qemu-img");
    ScratchDir scratch;
    auto make = [&](const std::string& name, const std::vector<std::string>& args) {
        std::vector<std::string> argv{"qemu-img", "create", "-q"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(scratch / name);
        if (name.find('.') != std::string::npos && args.back() != "-") argv.push_back("16M");
        must_run(argv);
        return scratch / name;
    };
    const std::string base = make("base.qcow2", {"-f", "qcow2"});
    const std::string top = scratch / "top.qcow2";
    must_run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top});
    const std::vector<std::string> images = {
        base,
        top,
        make("meta.qcow2", {"-f", "qcow2", "-o", "preallocation=metadata,cluster_size=4096,lazy_refcounts=on"}),
        make("falloc.qcow2", {"-f", "qcow2", "-o", "preallocation=falloc"}),
        make("v2.qcow2", {"-f", "qcow2", "-o", "compat=0.10"}),
        make("sparse.raw", {"-f", "raw"}),
        make("full.raw", {"-f", "raw", "-o", "preallocation=full"}),
        make("disk.vmdk", {"-f", "vmdk"}),
        make("disk.vdi", {"-f", "vdi"}),
        make("disk.vhdx", {"-f", "vhdx"}),
        make("disk.vpc", {"-f", "vpc"}),
        make("disk.qed", {"-f", "qed"}),
    };
    for (const auto& image : images) {
        INFO(image);
        auto ours = read_image_info(SysRoot("/"), image);
        REQUIRE(ours);
        json theirs = qemu_img_info(image);
        CHECK(ours->format == theirs["format"]);
        if (ours->format == "vpc") continue;   // its size comes from a CHS geometry we do not read
        if (ours->format == "qcow2" || ours->format == "raw" || ours->format == "qed")
            CHECK(ours->virtual_size == theirs["virtual-size"].get<uint64_t>());
        if (ours->format != "qcow2") continue;
        CHECK(ours->cluster_size == theirs["cluster-size"].get<uint64_t>());
        CHECK(ours->backing_file == theirs.value("backing-filename", ""));
        CHECK(ours->backing_format == theirs.value("backing-filename-format", ""));
        CHECK(ours->dirty == theirs.value("dirty-flag", false));
        const json& data = theirs["format-specific"]["data"];
        CHECK(ours->version == (data["compat"] == "0.10" ? 2u : 3u));
        if (*ours->version == 3) {
            CHECK(ours->lazy_refcounts == data["lazy-refcounts"].get<bool>());
            CHECK(ours->extended_l2 == data.value("extended-l2", false));
            CHECK(ours->compression_type == data.value("compression-type", "zlib"));
        }
    }

    // How much is allocated, from the file's blocks.
    auto allocation = [&](const std::string& image) { return read_image_info(SysRoot("/"), image)->allocation; };
    CHECK(allocation(base) == "sparse");
    CHECK(allocation(scratch / "meta.qcow2") == "metadata");
    CHECK(allocation(scratch / "falloc.qcow2") == "full");
    CHECK(allocation(scratch / "sparse.raw") == "sparse");
    CHECK(allocation(scratch / "full.raw") == "full");

    // The backing chain, as qemu-img walks it.
    auto chain = read_backing_chain(SysRoot("/"), top);
    json theirs = qemu_img_info(top, true);
    REQUIRE(chain.size() == theirs.size());
    for (size_t i = 0; i < chain.size(); ++i) {
        CHECK(chain[i].path == theirs[i]["filename"]);
        REQUIRE(chain[i].info);
        CHECK(chain[i].info->format == theirs[i]["format"]);
    }
    CHECK(chain[0].info->backing_file == "base.qcow2");
    CHECK(backing_path(top, chain[0].info->backing_file) == theirs[0]["full-backing-filename"]);
}

TEST_CASE("kvm inspect --pid: a running QEMU with an iothread, a backing chain and virtio-scsi",
          "[kvm][qemu]") {
    SKIP_WITHOUT("qemu-img", "qemu-system-x86_64");
    ScratchDir scratch;
    const std::string base = scratch / "base.qcow2";
    const std::string top = scratch / "top.qcow2";
    const std::string raw = scratch / "data.raw";
    must_run({"qemu-img", "create", "-q", "-f", "qcow2", base, "64M"});
    must_run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top});
    must_run({"qemu-img", "create", "-q", "-f", "raw", raw, "32M"});
    Qemu qemu({"qemu-system-x86_64", "-name", "itest,debug-threads=on", "-machine", "q35,accel=tcg", "-smp", "2",
               "-m", "128", "-display", "none", "-nodefaults", "-S", "-object", "iothread,id=iothread0",
               "-blockdev",
               "driver=qcow2,node-name=d0,file.driver=file,file.filename=" + top + ",file.aio=threads,cache.direct=on",
               "-device", "virtio-blk-pci,drive=d0,id=os,iothread=iothread0,num-queues=2",
               "-drive", "file=" + raw + ",format=raw,if=none,id=r0,cache=unsafe",
               "-device", "virtio-scsi-pci,id=scsi0", "-device", "scsi-hd,drive=r0,bus=scsi0.0,id=data"},
              scratch / "qemu.log");
    qemu.wait_ready();

    auto run = run_iodiag({"kvm", "inspect", "--pid", std::to_string(qemu.pid), "--json"});
    REQUIRE(run.exit_code == 0);
    json report = json::parse(run.out);
    CHECK(report["source"] == "pid");
    CHECK(report["pid"] == qemu.pid);
    CHECK(report["vm"]["name"] == "itest");
    CHECK(report["vm"]["vcpus"] == 2);
    CHECK(report["vm"]["accel"] == "tcg");
    CHECK(report["vm"]["iothreads"] == json::array({"iothread0"}));

    const json& os = disk_of(report, "os");
    CHECK(os["image"] == top);
    CHECK(os["format"] == "qcow2");
    REQUIRE(os["chain"].size() == 2);
    CHECK(os["chain"][0]["header"]["backing_file"] == base);
    CHECK(os["chain"][1]["path"] == base);
    CHECK(os["chain"][1]["format_source"] == "image header");
    CHECK(os["chain"][1]["header"]["format"] == "qcow2");
    CHECK(os["cache"]["mode"] == "none");
    CHECK(os["aio"] == "threads");
    CHECK(os["iothreads"] == json::array({"iothread0"}));
    CHECK(os["controller"]["type"] == "virtio-blk");
    CHECK(os["controller"]["num_queues"] == 2);
    CHECK(os["host_stack"]["path"] == top);
    CHECK_FALSE(os["host_stack"]["mount"].is_null());

    const json& data = disk_of(report, "data");
    CHECK(data["cache"]["mode"] == "unsafe");
    CHECK(data["controller"]["type"] == "virtio-scsi");
    CHECK(data["controller"]["id"] == "scsi0");
    CHECK(data["chain"][0]["header"]["format"] == "raw");

    // QEMU named its threads: vCPUs (one per vCPU with multi-threaded TCG), the iothread, the main loop.
    const json& roles = report["threads"]["by_role"];
    CHECK(report["threads"]["named"] == true);
    CHECK(roles["vcpu"].get<int>() >= 1);
    CHECK(roles["iothread"] == 1);
    CHECK(roles["main-loop"] == 1);

    CHECK(has_finding(report, "kvm.cache_none_aio_threads", "os"));
    CHECK(has_finding(report, "kvm.backing_chain", "os"));
    CHECK(has_finding(report, "kvm.qcow2_not_allocated", "os"));
    CHECK(has_finding(report, "kvm.cache_unsafe", "data"));
    CHECK(has_finding(report, "kvm.no_iothread", "scsi0"));

    // A copy of /proc/PID/cmdline describes the same disks.
    const std::string copy = scratch / "cmdline";
    std::ofstream(copy, std::ios::binary) << read_text("/proc/" + std::to_string(qemu.pid) + "/cmdline");   // st_size is 0 in /proc
    auto from_file = run_iodiag({"kvm", "inspect", "--cmdline", copy, "--json"});
    REQUIRE(from_file.exit_code == 0);
    json copied = json::parse(from_file.out);
    CHECK(copied["source"] == "cmdline");
    CHECK(copied["threads"].is_null());
    CHECK(copied["disks"] == report["disks"]);

    auto text = run_iodiag({"kvm", "inspect", "--pid", std::to_string(qemu.pid)});
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::StartsWith("VM itest (from pid " + std::to_string(qemu.pid) + "): 2 vCPUs"));
    CHECK_THAT(text.out, Catch::Contains("  iothread  IO iothread0 ("));
    CHECK_THAT(text.out, Catch::Contains("  backing  " + base + "  qcow2 (image header)"));
}

TEST_CASE("kvm inspect: a pid that is not QEMU", "[kvm][qemu]") {
    SKIP_WITHOUT("sleep");
    auto sleeper = spawn({{"sleep", "30"}});
    REQUIRE(sleeper);
    struct Reap {
        pid_t pid;
        ~Reap() {
            kill(pid, SIGKILL);
            wait_for(pid);
        }
    } reap{*sleeper};
    auto run = run_iodiag({"kvm", "inspect", "--pid", std::to_string(*sleeper)});
    CHECK(run.exit_code == 3);
    CHECK_THAT(run.err, Catch::StartsWith("iodiag: error: pid " + std::to_string(*sleeper) + " (sleep) is not QEMU: it runs sleep\n"));
    CHECK_THAT(run.err, Catch::Contains("hint: find QEMU processes with: pgrep -a qemu"));
}

TEST_CASE("kvm inspect: bad input files and what is still reported", "[kvm][cli]") {
    ScratchDir scratch;
    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(scratch / name, std::ios::binary) << text;
        return scratch / name;
    };

    CHECK(run_iodiag({"kvm", "inspect"}).exit_code == 2);
    CHECK(run_iodiag({"kvm"}).exit_code == 2);
    CHECK(run_iodiag({"kvm", "inspect", "--pid", "1", "--cmdline", "x"}).exit_code == 2);

    auto missing = run_iodiag({"kvm", "inspect", "--cmdline", "/no/such/file"});
    CHECK(missing.exit_code == 4);
    CHECK(missing.err == "iodiag: error: no such file: /no/such/file\n");

    auto not_qemu = run_iodiag({"kvm", "inspect", "--cmdline", write("ls.sh", "ls -l /\n")});
    CHECK(not_qemu.exit_code == 3);
    CHECK_THAT(not_qemu.err, Catch::Contains("ls.sh: no QEMU command in the text (first word: ls)"));

    auto quote = run_iodiag({"kvm", "inspect", "--cmdline", write("q.sh", "qemu-system-x86_64 -drive 'file=/x\n")});
    CHECK(quote.exit_code == 3);
    CHECK_THAT(quote.err, Catch::Contains("unterminated ' quote"));

    auto bad_json = run_iodiag({"kvm", "inspect", "--cmdline", write("j.sh", "qemu-kvm -blockdev '{\"driver\":'\n")});
    CHECK(bad_json.exit_code == 3);
    CHECK_THAT(bad_json.err, Catch::Contains("-blockdev: not valid JSON"));

    auto empty = run_iodiag({"kvm", "inspect", "--cmdline", write("empty", "\n")});
    CHECK(empty.exit_code == 3);
    CHECK_THAT(empty.err, Catch::Contains("is empty"));

    auto xml = run_iodiag({"kvm", "inspect", "--domxml", write("bad.xml", "<domain><devices></domain>")});
    CHECK(xml.exit_code == 3);
    CHECK_THAT(xml.err, Catch::Contains("the domain XML does not parse"));
    CHECK(run_iodiag({"kvm", "inspect", "--domxml", "/no/such.xml"}).exit_code == 4);

    // Images that do not exist: everything else is still reported, and the chain says why.
    auto absent = run_iodiag({"kvm", "inspect", "--cmdline", kData + "libvirt-db1.cmdline", "--json"});
    REQUIRE(absent.exit_code == 0);
    json report = json::parse(absent.out);
    CHECK(report["disks"].size() == 2);
    CHECK(report["disks"][0]["chain"][0]["error"] == "image /var/lib/libvirt/images/db1.qcow2 does not exist");
    CHECK(report["disks"][0]["host_stack"].is_null());
    auto xml_ok = run_iodiag({"kvm", "inspect", "--domxml", kData + "libvirt-db1.xml"});
    CHECK(xml_ok.exit_code == 0);
    CHECK_THAT(xml_ok.out, Catch::Contains("rbd:rbd-pool/db1-logs (host ceph-mon1)  raw (domain XML)  [not a local file (rbd): header not read]"));
}

TEST_CASE("kvm inspect --model: a busy workload turns the iothread rule into a warning", "[kvm][cli]") {
    ScratchDir scratch;
    model::WorkloadModel busy;
    busy.target.pid = 7;
    busy.target.comm = "fio";
    model::JobGroup group;
    group.name = "randwrite-4k-libaio";
    group.evidence.iops = 20000;
    group.evidence.writes.bytes = 1 << 30;
    busy.groups.push_back(group);
    REQUIRE(model::save_model(busy, scratch / "model.json"));

    auto run = run_iodiag({"kvm", "inspect", "--cmdline", kData + "libvirt-web1.log", "--model", scratch / "model.json",
                           "--json"});
    REQUIRE(run.exit_code == 0);
    json report = json::parse(run.out);
    bool warned = false;
    for (const auto& finding : report["findings"])
        if (finding["id"] == "kvm.no_iothread") {
            CHECK(finding["severity"] == "warning");
            CHECK(finding["evidence"]["workload"].get<std::string>().find("busy (") == 0);
            warned = true;
        }
    CHECK(warned);

    auto no_model = run_iodiag({"kvm", "inspect", "--cmdline", kData + "libvirt-web1.log", "--model", "/no/model.json"});
    CHECK(no_model.exit_code == 4);
}
