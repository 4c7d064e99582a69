#include "stack/qemu_keyval.hpp"

#include <charconv>

namespace iodiag::stack {
namespace {

std::vector<std::string> split_dots(const std::string& key) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t dot = key.find('.', start);
        parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts;
}

}  // namespace

Result<KeyvalPairs> split_keyval(std::string_view text, std::string_view implied_key) {
    std::vector<std::string> items;
    std::string current;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != ',') {
            current += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == ',') {
            current += ',';
            ++i;
        } else {
            items.push_back(std::move(current));
            current.clear();
        }
    }
    items.push_back(std::move(current));

    KeyvalPairs pairs;
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string& item = items[i];
        if (item.empty()) continue;   // "a=1," and "a=1,,"-free trailing commas
        auto eq = item.find('=');
        if (eq == 0) return fail(ErrorKind::bad_input, "empty key in \"" + std::string(text) + "\"");
        if (eq != std::string::npos) pairs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
        else if (i == 0 && !implied_key.empty()) pairs.emplace_back(std::string(implied_key), item);
        else pairs.emplace_back(item, "on");
    }
    return pairs;
}

Result<ordered_json> nest_keyval(const KeyvalPairs& pairs) {
    ordered_json out = ordered_json::object();
    for (const auto& [key, value] : pairs) {
        auto parts = split_dots(key);
        ordered_json* node = &out;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            ordered_json& child = (*node)[parts[i]];
            if (child.is_null()) child = ordered_json::object();
            if (!child.is_object())
                return fail(ErrorKind::bad_input, "\"" + key + "\": \"" + parts[i] +
                                                      "\" is given both as a value and as a group");
            node = &child;
        }
        ordered_json& leaf = (*node)[parts.back()];
        if (leaf.is_object())
            return fail(ErrorKind::bad_input,
                        "\"" + key + "\" is given both as a value and as a group");
        leaf = value;   // a repeated key: the last one wins, as in QEMU
    }
    return out;
}

Result<ordered_json> parse_option_value(std::string_view text, std::string_view implied_key,
                                        std::string_view option) {
    size_t first = text.find_first_not_of(" \t");
    if (first != std::string_view::npos && text[first] == '{') {
        auto parsed = ordered_json::parse(text.begin(), text.end(), nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object())
            return fail(ErrorKind::bad_input,
                        std::string(option) + ": not valid JSON: " + std::string(text.substr(0, 120)),
                        "libvirt writes one JSON object per option; check the quoting");
        return parsed;
    }
    auto pairs = split_keyval(text, implied_key);
    if (!pairs) {
        Error error = pairs.error();
        error.message = std::string(option) + ": " + error.message;
        return tl::unexpected(error);
    }
    auto nested = nest_keyval(*pairs);
    if (!nested) {
        Error error = nested.error();
        error.message = std::string(option) + ": " + error.message;
        return tl::unexpected(error);
    }
    return nested;
}

const ordered_json* find_value(const ordered_json& object, std::string_view path) {
    const ordered_json* node = &object;
    for (const auto& part : split_dots(std::string(path))) {
        if (!node->is_object()) return nullptr;
        auto it = node->find(part);
        if (it == node->end()) return nullptr;
        node = &*it;
    }
    return node;
}

std::optional<std::string> get_string(const ordered_json& object, std::string_view path) {
    const ordered_json* value = find_value(object, path);
    if (!value || value->is_null() || value->is_object() || value->is_array()) return std::nullopt;
    if (value->is_string()) return value->get<std::string>();
    if (value->is_boolean()) return value->get<bool>() ? "on" : "off";
    return value->dump();
}

std::optional<int64_t> get_int(const ordered_json& object, std::string_view path) {
    const ordered_json* value = find_value(object, path);
    if (!value) return std::nullopt;
    if (value->is_number_integer()) return value->get<int64_t>();
    if (!value->is_string()) return std::nullopt;
    const std::string text = value->get<std::string>();
    int64_t out = 0;
    int base = text.rfind("0x", 0) == 0 ? 16 : 10;
    const char* begin = text.data() + (base == 16 ? 2 : 0);
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out, base);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return out;
}

std::optional<bool> get_bool(const ordered_json& object, std::string_view path) {
    const ordered_json* value = find_value(object, path);
    if (!value) return std::nullopt;
    if (value->is_boolean()) return value->get<bool>();
    if (value->is_number_integer()) return value->get<int64_t>() != 0;
    if (!value->is_string()) return std::nullopt;
    const std::string text = value->get<std::string>();
    if (text == "on" || text == "true" || text == "yes" || text == "1") return true;
    if (text == "off" || text == "false" || text == "no" || text == "0") return false;
    return std::nullopt;
}

}  // namespace iodiag::stack
