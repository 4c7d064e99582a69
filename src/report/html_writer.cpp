#include "report/html_writer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace iodiag::report {

namespace {

using json = nlohmann::ordered_json;

// ---- reading the document: every field optional, any type ----

const json& null_json() {
    static const json null;
    return null;
}

const json& field(const json& object, const char* key) {
    if (!object.is_object()) return null_json();
    auto it = object.find(key);
    return it == object.end() ? null_json() : *it;
}

const json& array_or_empty(const json& value) {
    static const json empty = json::array();
    return value.is_array() ? value : empty;
}

std::optional<double> number(const json& value) {
    if (!value.is_number()) return std::nullopt;
    double v = value.get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    return v;
}

// Up to 2 decimals, trailing zeros dropped, thousands grouped: 1,987.5.
std::string full_number(double v) {
    std::string s = fmt::format("{:.2f}", std::abs(v));
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    size_t digits = std::min(s.find('.'), s.size());
    std::string grouped = v < 0 && s != "0" ? "-" : "";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i > 0 && i < digits && (digits - i) % 3 == 0) grouped += ',';
        grouped += s[i];
    }
    return grouped;
}

// Short labels for axes and bars: 950, 9.5k, 12.3k, 1.2M.
std::string compact_number(double v) {
    static constexpr std::array<std::pair<double, const char*>, 4> units{
        {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}}};
    for (auto [scale, suffix] : units)
        if (std::abs(v) >= 0.9995 * scale) return fmt::format("{:.3g}{}", v / scale, suffix);
    return fmt::format("{:.3g}", v);
}

std::string text_of(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_null()) return {};
    if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
    if (auto v = number(value)) return full_number(*v);
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text(const json& object, const char* key) { return text_of(field(object, key)); }

// Text as HTML (element content and quoted attribute values). Control characters other than tab
// and newline are not allowed in HTML: they become U+FFFD.
std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\t':
            case '\n': out += c; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    out += "\xEF\xBF\xBD";
                else
                    out += c;
        }
    }
    return out;
}

// At most `max_chars` characters (UTF-8 code points), ".." marking a cut.
std::string truncate(std::string_view s, size_t max_chars) {
    size_t chars = 0, cut = std::string_view::npos;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
        if (chars == (max_chars >= 2 ? max_chars - 2 : 0)) cut = i;
        if (++chars > max_chars) return std::string(s.substr(0, cut)) + "..";
    }
    return std::string(s);
}

size_t char_count(std::string_view s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// An id attribute value (anchors): letters, digits, '-' and '_' only.
std::string anchor(std::string_view prefix, std::string_view name) {
    std::string id(prefix);
    for (char c : name) id += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '-';
    return id;
}

// One of the known classes, so a value from the report never lands in a class attribute as is.
std::string_view known(std::string_view value, std::initializer_list<std::string_view> allowed,
                       std::string_view otherwise) {
    for (auto a : allowed)
        if (value == a) return a;
    return otherwise;
}

constexpr std::array<std::string_view, 3> kSeverities{"critical", "warning", "info"};

std::string_view severity_of(const json& finding) {
    return known(text(finding, "severity"), {"critical", "warning", "info"}, "info");
}

template <typename... Args>
void put(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// ---- charts ----

// SVG text is drawn at 11px; this is the width of an average character of the system UI fonts.
constexpr double kCharWidth = 6.2;
constexpr double kPi = 3.14159265358979323846;

// A y axis from 0 to a round number at or above `max`, in 4-6 round steps.
struct Scale {
    double top = 1, step = 1;
};

Scale nice_scale(double max) {
    if (!(max > 0)) return {};
    double raw = max / 5;
    double magnitude = std::pow(10, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double f : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (f * magnitude >= raw) {
            step = f * magnitude;
            break;
        }
    return {std::ceil(max / step - 1e-9) * step, step};
}

struct Series {
    std::string name;
    const char* css_class;   // fill colour, from the stylesheet
};

// One group of bars along the x axis: its label and one value per series (missing = no bar).
struct BarGroup {
    std::string label;
    std::vector<std::optional<double>> values;
};

struct BarChart {
    double width = 500;   // two fit side by side on a laptop screen without shrinking their text
    std::string title, x_axis, y_axis, unit;
    std::vector<Series> series;
    std::vector<BarGroup> groups;
};

void svg_open(std::string& out, double width, double height, const std::string& title) {
    put(out,
        "<svg class=\"chart-svg\" viewBox=\"0 0 {:.0f} {:.0f}\" "
        "width=\"{:.0f}\" role=\"img\"><title>{}</title>\n",
        width, height, width, escape(title));
}

void bar_chart_svg(std::string& out, const BarChart& chart) {
    constexpr double kLeft = 64, kRight = 16, kPlotHeight = 200;
    const double width = chart.width;
    const double top = chart.series.size() > 1 ? 34 : 18;   // room for the legend
    const size_t n = chart.groups.size();
    const double plot_width = width - kLeft - kRight;
    const double band = n ? plot_width / static_cast<double>(n) : plot_width;

    constexpr size_t kMaxLabelChars = 22;
    double label_width = 0;
    for (const auto& g : chart.groups)
        label_width = std::max(label_width, kCharWidth * static_cast<double>(std::min(char_count(g.label), kMaxLabelChars)));
    // Crowded labels are slanted; the space under the axis grows to fit them.
    const bool slant = label_width > band - 4;
    const double label_depth = slant ? label_width * std::sin(40 * kPi / 180) + 16 : 18;
    const double bottom = label_depth + 26;
    const double height = top + kPlotHeight + bottom;
    const double base = top + kPlotHeight;

    double max = 0;
    for (const auto& g : chart.groups)
        for (auto v : g.values)
            if (v) max = std::max(max, *v);
    Scale scale = nice_scale(max);
    auto y_of = [&](double v) { return base - kPlotHeight * std::clamp(v / scale.top, 0.0, 1.0); };

    svg_open(out, width, height, chart.title);
    // Grid lines and y tick labels.
    for (double tick = 0; tick <= scale.top * (1 + 1e-9); tick += scale.step) {
        double y = y_of(tick);
        put(out, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", kLeft, y,
            width - kRight, y);
        put(out, "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
            y + 4, escape(compact_number(tick)));
    }
    put(out, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>\n", kLeft, base,
        width - kRight, base);

    if (n == 0)
        put(out, "<text class=\"empty\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">no data</text>\n",
            kLeft + plot_width / 2, top + kPlotHeight / 2);

    const size_t per_group = std::max<size_t>(chart.series.size(), 1);
    // Bars no wider than 56 units: a chart of 3 bars should not look like blocks.
    const double bar_width = std::min(band * 0.72 / static_cast<double>(per_group), 56.0);
    for (size_t i = 0; i < n; ++i) {
        const auto& group = chart.groups[i];
        const double group_x =
            kLeft + band * static_cast<double>(i) + (band - bar_width * static_cast<double>(per_group)) / 2;
        for (size_t s = 0; s < group.values.size() && s < per_group; ++s) {
            if (!group.values[s]) continue;
            double v = std::max(*group.values[s], 0.0);
            double x = group_x + bar_width * static_cast<double>(s);
            double y = y_of(v);
            std::string series_name = s < chart.series.size() ? chart.series[s].name : std::string();
            put(out, "<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">",
                s < chart.series.size() ? chart.series[s].css_class : "bar", x, y, std::max(bar_width - 1, 0.5),
                base - y);
            put(out, "<title>{}{}{}: {}{}{}</title></rect>", escape(group.label), series_name.empty() ? "" : ", ",
                escape(series_name), full_number(v), chart.unit.empty() ? "" : " ", escape(chart.unit));
            std::string value_label = compact_number(v);
            if (kCharWidth * static_cast<double>(value_label.size()) <= bar_width + 6)
                put(out, "<text class=\"value\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
                    x + bar_width / 2, y - 4, escape(value_label));
        }
        const double label_x = kLeft + band * (static_cast<double>(i) + 0.5);
        std::string label = escape(truncate(group.label, kMaxLabelChars));
        if (slant)
            put(out,
                "<text class=\"label\" x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"end\" "
                "transform=\"rotate(-40 {0:.1f} {1:.1f})\">{2}</text>\n",
                label_x, base + 14, label);
        else
            put(out, "<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", label_x,
                base + 16, label);
    }

    // Axis titles.
    put(out, "<text class=\"axis-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        kLeft + plot_width / 2, height - 8, escape(chart.x_axis));
    put(out,
        "<text class=\"axis-title\" x=\"14\" y=\"{0:.1f}\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 14 {0:.1f})\">{1}</text>\n",
        top + kPlotHeight / 2, escape(chart.y_axis));

    if (chart.series.size() > 1) {
        double x = width - kRight;
        for (auto s = chart.series.rbegin(); s != chart.series.rend(); ++s) {
            x -= kCharWidth * static_cast<double>(char_count(s->name)) + 30;
            put(out, "<rect class=\"{}\" x=\"{:.1f}\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\"/>", s->css_class, x);
            put(out, "<text class=\"legend\" x=\"{:.1f}\" y=\"16\">{}</text>\n", x + 17, escape(s->name));
        }
    }
    out += "</svg>\n";
}

void figure(std::string& out, const std::string& title, const std::string& body) {
    put(out, "<figure class=\"chart\"><figcaption>{}</figcaption>\n{}</figure>\n", escape(title), body);
}

// charts.io_sizes / latency / inflight entry: {"title", "x", "y", "bars": [{"label", "value"}]}.
void histogram_chart(std::string& out, const json& entry, std::string_view fallback_title) {
    BarChart chart;
    chart.title = text(entry, "title");
    if (chart.title.empty()) chart.title = fallback_title;
    chart.x_axis = text(entry, "x");
    chart.y_axis = text(entry, "y");
    chart.unit = chart.y_axis;
    chart.series = {{"", "bar"}};
    for (const auto& bar : array_or_empty(field(entry, "bars")))
        chart.groups.push_back({text(bar, "label"), {number(field(bar, "value")).value_or(0)}});
    std::string svg;
    bar_chart_svg(svg, chart);
    figure(out, chart.title, svg);
}

// charts.reproduce: observed vs reproduced per row, and the same as a small table with the ratio.
void reproduce_chart(std::string& out, const json& entry) {
    BarChart chart;
    chart.width = 760;
    chart.title = text(entry, "title");
    if (chart.title.empty()) chart.title = "Observed vs reproduced";
    chart.unit = text(entry, "unit");
    chart.y_axis = chart.unit;
    chart.x_axis = "workload";
    chart.series = {{"observed", "bar-observed"}, {"reproduced", "bar-reproduced"}};
    std::string table =
        "<table class=\"compact\"><thead><tr><th>workload</th><th class=\"num\">observed</th>"
        "<th class=\"num\">reproduced</th><th class=\"num\">reproduced / observed</th></tr></thead><tbody>\n";
    for (const auto& row : array_or_empty(field(entry, "rows"))) {
        auto observed = number(field(row, "observed"));
        auto reproduced = number(field(row, "reproduced"));
        chart.groups.push_back({text(row, "label"), {observed, reproduced}});
        std::string ratio = observed && reproduced && *observed > 0
                                ? fmt::format("{:.0f}%", 100 * *reproduced / *observed)
                                : std::string("–");
        put(table, "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            escape(text(row, "label")), observed ? full_number(*observed) : "–",
            reproduced ? full_number(*reproduced) : "–", ratio);
    }
    table += "</tbody></table>\n";
    std::string svg;
    bar_chart_svg(svg, chart);
    figure(out, chart.title, svg + (chart.groups.empty() ? std::string() : table));
}

// A frame of the flame graph: the total of every stack passing through it, its callees by name.
struct Frame {
    double value = 0;
    std::map<std::string, Frame> children;
};

size_t depth_of(const Frame& frame) {
    size_t deepest = 0;
    for (const auto& [name, child] : frame.children) deepest = std::max(deepest, 1 + depth_of(child));
    return deepest;
}

// Warm colours, fixed per name so one function has one colour everywhere in the graph.
std::string frame_colour(std::string_view name) {
    uint32_t hash = 2166136261u;   // FNV-1a
    for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    int hue = static_cast<int>(hash % 50) + 5;                 // red .. orange-yellow
    int lightness = 55 + static_cast<int>((hash >> 8) % 12);   // 55% .. 66%
    return fmt::format("hsl({},78%,{}%)", hue, lightness);
}

struct FlameLayout {
    double unit_per_value, base;   // base: the bottom of the root row
    std::string unit;
    double total;
};

constexpr double kFrameHeight = 17;
constexpr double kMinFrameWidth = 0.1;

void flame_frames(std::string& out, const FlameLayout& layout, const std::string& name, const Frame& frame,
                  double x, size_t depth) {
    double width = frame.value * layout.unit_per_value;
    if (width < kMinFrameWidth) return;
    double y = layout.base - kFrameHeight * static_cast<double>(depth + 1);
    put(out, "<g><title>{} — {}{}{} ({:.1f}%)</title>", escape(name), full_number(frame.value),
        layout.unit.empty() ? "" : " ", escape(layout.unit), 100 * frame.value / layout.total);
    put(out, "<rect class=\"fg\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.0f}\" rx=\"1\" fill=\"{}\"/>",
        x, y, width, kFrameHeight - 1, depth == 0 ? "hsl(30,8%,72%)" : frame_colour(name));
    // Names that do not fit are cut to a few characters and "..", or left out.
    auto fits = static_cast<size_t>(std::max(0.0, (width - 6) / kCharWidth));
    if (fits >= std::min<size_t>(char_count(name), 4))
        put(out, "<text class=\"fg-text\" x=\"{:.2f}\" y=\"{:.1f}\">{}</text>", x + 3, y + 12,
            escape(truncate(name, fits)));
    out += "</g>\n";
    for (const auto& [child_name, child] : frame.children) {
        flame_frames(out, layout, child_name, child, x, depth + 1);
        x += child.value * layout.unit_per_value;
    }
}

// charts.offcpu: {"title", "unit", "folded": [{"stack": "root;...;leaf", "value"}]}, root at the
// bottom, callees above their callers.
void flame_graph(std::string& out, const json& entry) {
    std::string title = text(entry, "title");
    if (title.empty()) title = "Off-CPU time by stack";
    Frame root;
    for (const auto& line : array_or_empty(field(entry, "folded"))) {
        auto value = number(field(line, "value"));
        std::string stack = text(line, "stack");
        std::vector<std::string> names;
        for (size_t start = 0; start <= stack.size();) {
            size_t end = std::min(stack.find(';', start), stack.size());
            if (end > start) names.push_back(stack.substr(start, end - start));
            start = end + 1;
        }
        if (!value || *value <= 0 || names.empty()) continue;
        root.value += *value;
        Frame* frame = &root;
        for (auto& name : names) {
            frame = &frame->children[std::move(name)];
            frame->value += *value;
        }
    }

    constexpr double kWidth = 1000, kPad = 10;
    const size_t rows = root.value > 0 ? depth_of(root) + 1 : 0;
    const double height = std::max(kFrameHeight * static_cast<double>(rows) + 2 * kPad, 60.0);
    FlameLayout layout{root.value > 0 ? (kWidth - 2 * kPad) / root.value : 0, height - kPad, text(entry, "unit"),
                       root.value};
    std::string svg;
    svg_open(svg, kWidth, height, title);
    if (root.value > 0)
        flame_frames(svg, layout, "all", root, kPad, 0);
    else
        put(svg, "<text class=\"empty\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">no data</text>\n",
            kWidth / 2, height / 2);
    svg += "</svg>\n";
    if (root.value > 0)
        put(svg,
            "<p class=\"note\">Each box is a function; callers below callees, width proportional to the time "
            "({} {} in all). Hover a box for its name and time.</p>\n",
            full_number(root.value), escape(layout.unit));
    figure(out, title, svg);
}

// ---- page sections ----

constexpr std::string_view kStyle = R"css(
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde1e8; --bg:#ffffff; --panel:#f6f7f9;
  --critical:#c62828; --warning:#b86e00; --info:#1f5fae; --done:#2e7d32; --failed:#c62828;
  --skipped:#6b7280; --todo:#6b7280; --accent:#3566b0; --accent2:#e08a2c; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 1px solid var(--line); padding-bottom: 16px; margin-bottom: 8px; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 8px; }
.subtitle { color: var(--muted); margin: 0 0 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px; font-size: 14px; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
nav.toc { font-size: 14px; margin-top: 8px; } nav.toc a { color: var(--accent); margin-right: 16px; text-decoration: none; }
.badges { display: flex; gap: 8px; flex-wrap: wrap; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; color: #fff; font-size: 12px;
  font-weight: 600; letter-spacing: .02em; text-transform: uppercase; white-space: nowrap; vertical-align: 2px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.badge.big { font-size: 13px; padding: 3px 12px; }
.badge.zero { opacity: .35; }
.sev-critical { background: var(--critical); } .sev-warning { background: var(--warning); } .sev-info { background: var(--info); }
.st-done { background: var(--done); } .st-failed { background: var(--failed); } .st-skipped { background: var(--skipped); }
.st-todo { background: #fff; color: var(--todo); box-shadow: inset 0 0 0 1px var(--todo); }
.finding, .step { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 12px 16px;
  margin: 0 0 12px; background: var(--bg); break-inside: avoid; }
.finding.critical { border-left-color: var(--critical); } .finding.warning { border-left-color: var(--warning); }
.finding.info { border-left-color: var(--info); }
.finding h3, .step h3 { margin: 0 0 8px; font-size: 16px; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.finding .id, .step .id { color: var(--muted); font-weight: normal; font-size: 12px; margin-left: auto; }
.step.done { border-left-color: var(--done); } .step.failed { border-left-color: var(--failed); }
.step.skipped, .step.todo { border-left-color: var(--line); }
.step .time { color: var(--muted); font-weight: normal; font-size: 13px; }
.field { margin: 6px 0 0; } .field .k { color: var(--muted); font-size: 13px; margin-right: 6px; }
.next { background: var(--panel); border-radius: 4px; padding: 6px 10px; margin-top: 8px; }
.reason { color: var(--failed); }
ul.summary { margin: 6px 0 0; padding-left: 20px; } ul.summary li { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 0; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.compact { width: auto; min-width: 50%; }
a { color: var(--accent); }
.none { color: var(--muted); font-style: italic; }
figure.chart { margin: 0 0 20px; padding: 12px 14px; border: 1px solid var(--line); border-radius: 6px; break-inside: avoid; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; overflow-wrap: anywhere; }
.chart-svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
.chart-svg text { font-size: 11px; fill: var(--fg); }
.chart-svg .tick, .chart-svg .label { fill: var(--muted); }
.chart-svg .value { font-size: 10px; fill: var(--fg); }
.chart-svg .axis-title { font-size: 12px; fill: var(--muted); }
.chart-svg .empty { font-size: 14px; fill: var(--muted); }
.chart-svg .grid { stroke: #eceef2; } .chart-svg .axis { stroke: #9aa1ad; }
.chart-svg .bar, .chart-svg .bar-observed { fill: var(--accent); } .chart-svg .bar-reproduced { fill: var(--accent2); }
.chart-svg rect:hover { opacity: .8; }
.chart-svg .fg { stroke: rgba(255,255,255,.6); stroke-width: .5; }
.chart-svg .fg-text { font-size: 11px; fill: #1d1d1d; pointer-events: none; }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 0 16px; }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { font-size: 11pt; } main { max-width: none; padding: 0; }
  nav.toc { display: none; } h2 { break-after: avoid; }
  .chart-grid { display: block; }
  a { color: inherit; text-decoration: none; }
}
)css";

std::size_t severity_count(const json& report, std::string_view severity) {
    if (auto n = number(field(field(report, "counts"), std::string(severity).c_str())); n && *n >= 0)
        return static_cast<size_t>(*n);
    const auto& findings = array_or_empty(field(report, "findings"));
    return static_cast<size_t>(std::count_if(findings.begin(), findings.end(),
                                              [&](const json& f) { return severity_of(f) == severity; }));
}

void meta_row(std::string& out, std::string_view key, const std::string& value, bool mono = false) {
    if (value.empty()) return;
    put(out, "<dt>{}</dt><dd{}>{}</dd>\n", key, mono ? " class=\"mono\"" : "", escape(value));
}

void header(std::string& out, const json& report) {
    const json& session = field(report, "session");
    std::string playbook = text(session, "playbook");
    std::string title = text(session, "playbook_title");
    if (title.empty()) title = playbook;
    out += "<header class=\"top\">\n";
    put(out, "<h1>{}</h1>\n", title.empty() ? "iodiag report" : escape(title));
    put(out, "<p class=\"subtitle\">iodiag diagnosis report{}</p>\n",
        playbook.empty() ? std::string() : " · playbook <code>" + escape(playbook) + "</code>");
    out += "<dl class=\"meta\">\n";
    meta_row(out, "Target", text(session, "target"));
    const json& machine = field(session, "machine");
    std::string host = text(machine, "hostname");
    std::string kernel = text(machine, "kernel");
    meta_row(out, "Machine", host.empty() || kernel.empty() ? host + kernel : host + " · " + kernel);
    meta_row(out, "Created", text(report, "created"));
    meta_row(out, "Session", text(session, "dir"), true);
    out += "</dl>\n<div class=\"badges\">";
    for (auto severity : kSeverities) {
        size_t count = severity_count(report, severity);
        put(out, "<span class=\"badge big sev-{0}{1}\">{2} {0}</span>", severity, count ? "" : " zero", count);
    }
    out += "</div>\n<nav class=\"toc\"><a href=\"#findings\">Findings</a><a href=\"#steps\">Steps</a>"
           "<a href=\"#charts\">Charts</a></nav>\n</header>\n";
}

void labelled(std::string& out, std::string_view label, const std::string& value, std::string_view css = "field") {
    if (value.empty()) return;
    put(out, "<p class=\"{}\"><span class=\"k\">{}</span>{}</p>\n", css, label, escape(value));
}

void findings(std::string& out, const json& report) {
    out += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    const auto& list = array_or_empty(field(report, "findings"));
    if (list.empty()) out += "<p class=\"none\">No findings.</p>\n";
    for (const auto& finding : list) {
        auto severity = severity_of(finding);
        std::string id = text(finding, "id");
        put(out, "<article class=\"finding {0}\"{1}>\n<h3><span class=\"badge sev-{0}\">{0}</span><span>{2}</span>",
            severity, id.empty() ? std::string() : " id=\"" + anchor("finding-", id) + "\"",
            escape(text(finding, "title")));
        if (!id.empty()) put(out, "<span class=\"id mono\">{}</span>", escape(id));
        out += "</h3>\n";
        const auto& evidence = array_or_empty(field(finding, "evidence"));
        if (!evidence.empty()) {
            out += "<table><thead><tr><th>evidence</th><th>value</th><th>step</th></tr></thead><tbody>\n";
            for (const auto& item : evidence) {
                std::string step = text(item, "step");
                put(out, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", escape(text(item, "what")),
                    escape(text(item, "value")),
                    step.empty() ? std::string()
                                 : "<a href=\"#" + anchor("step-", step) + "\">" + escape(step) + "</a>");
            }
            out += "</tbody></table>\n";
        }
        labelled(out, "Section", text(finding, "section"));
        labelled(out, "Next step", text(finding, "next_step"), "field next");
        out += "</article>\n";
    }
    out += "</section>\n";
}

void steps(std::string& out, const json& report) {
    out += "<section id=\"steps\">\n<h2>Steps</h2>\n";
    const auto& list = array_or_empty(field(report, "steps"));
    if (list.empty()) out += "<p class=\"none\">No steps recorded.</p>\n";
    for (const auto& step : list) {
        auto state = known(text(step, "state"), {"done", "failed", "skipped", "todo"}, "todo");
        std::string id = text(step, "id");
        std::string title = text(step, "title");
        put(out, "<article class=\"step {0}\"{1}>\n<h3><span class=\"badge st-{0}\">{0}</span><span>{2}</span>", state,
            id.empty() ? std::string() : " id=\"" + anchor("step-", id) + "\"", escape(title.empty() ? id : title));
        if (auto seconds = number(field(step, "seconds")))
            put(out, "<span class=\"time\">{:.1f} s</span>", *seconds);
        if (!id.empty()) put(out, "<span class=\"id mono\">{}</span>", escape(id));
        out += "</h3>\n";
        labelled(out, "Why", text(step, "why"));
        labelled(out, "Section", text(step, "section"));
        labelled(out, state == "failed" ? "Failed" : "Reason", text(step, "reason"), "field reason");
        const json& summary = field(step, "summary");
        std::vector<std::string> lines;
        if (summary.is_array())
            for (const auto& line : summary) lines.push_back(text_of(line));
        else if (!summary.is_null())
            lines.push_back(text_of(summary));
        std::erase_if(lines, [](const std::string& l) { return l.empty(); });
        if (!lines.empty()) {
            out += "<ul class=\"summary\">";
            for (const auto& line : lines) put(out, "<li>{}</li>", escape(line));
            out += "</ul>\n";
        }
        std::string outputs;
        for (const auto& output : array_or_empty(field(step, "outputs")))
            put(outputs, "{}<code>{}</code>", outputs.empty() ? "" : ", ", escape(text_of(output)));
        if (!outputs.empty()) put(out, "<p class=\"field\"><span class=\"k\">Outputs</span>{}</p>\n", outputs);
        out += "</article>\n";
    }
    out += "</section>\n";
}

void charts(std::string& out, const json& report) {
    const json& all = field(report, "charts");
    out += "<section id=\"charts\">\n<h2>Charts</h2>\n";
    std::string body;
    static constexpr std::array<std::pair<const char*, const char*>, 3> kHistograms{
        {{"io_sizes", "IO sizes"}, {"latency", "Latency"}, {"inflight", "Requests in flight"}}};
    for (auto [key, heading] : kHistograms) {
        const auto& entries = array_or_empty(field(all, key));
        if (entries.empty()) continue;
        put(body, "<h3>{}</h3>\n<div class=\"chart-grid\">\n", heading);
        for (const auto& entry : entries) histogram_chart(body, entry, heading);
        body += "</div>\n";
    }
    if (const json& reproduce = field(all, "reproduce"); reproduce.is_object()) {
        body += "<h3>Reproduction</h3>\n";
        reproduce_chart(body, reproduce);
    }
    if (const json& offcpu = field(all, "offcpu"); offcpu.is_object()) {
        body += "<h3>Off-CPU time</h3>\n";
        flame_graph(body, offcpu);
    }
    out += body.empty() ? "<p class=\"none\">No charts in this report.</p>\n" : body;
    out += "</section>\n";
}

}  // namespace

std::string render_html(const nlohmann::ordered_json& report) {
    std::string out;
    out.reserve(64 * 1024);
    const json& session = field(report, "session");
    std::string title = text(session, "playbook_title");
    if (title.empty()) title = text(session, "playbook");
    std::string target = text(session, "target");
    put(out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>iodiag report{}{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
        title.empty() ? "" : ": " + escape(title), target.empty() ? "" : " — " + escape(target), kStyle);
    header(out, report);
    findings(out, report);
    steps(out, report);
    charts(out, report);
    std::string version = text(report, "tool_version");
    std::string schema = text(report, "schema");
    put(out, "<footer>Generated by iodiag{}{}.</footer>\n</main>\n</body>\n</html>\n",
        version.empty() ? "" : " " + escape(version), schema.empty() ? "" : " · " + escape(schema));
    return out;
}

}  // namespace iodiag::report
