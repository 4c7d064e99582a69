// QEMU option values: "key=value,key2=value2" (",," is a literal comma; a first item without "="
// belongs to the option's implied key, e.g. -device's driver; a bare later item means "on"), and
// the JSON form that libvirt writes ("-blockdev {...}"). Dotted keys ("file.filename") become
// nested objects, so both forms come out as the same JSON tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace iodiag::stack {

using ordered_json = nlohmann::ordered_json;
using KeyvalPairs = std::vector<std::pair<std::string, std::string>>;

// Splits "a=1,b=x,,y,flag" into {a,1} {b,"x,y"} {flag,on}; `implied_key` names a first bare item.
Result<KeyvalPairs> split_keyval(std::string_view text, std::string_view implied_key = {});

// {"file.driver","file"} -> {"file":{"driver":"file"}}; bad_input when a key is both a value and a
// group ("file=x,file.driver=y").
Result<ordered_json> nest_keyval(const KeyvalPairs& pairs);

// JSON when the text starts with '{', else split + nest. `option` ("-blockdev") names the source
// in error messages.
Result<ordered_json> parse_option_value(std::string_view text, std::string_view implied_key,
                                        std::string_view option);

// Reading values that are strings in keyval form and typed in JSON form. `path` may be dotted.
const ordered_json* find_value(const ordered_json& object, std::string_view path);
std::optional<std::string> get_string(const ordered_json& object, std::string_view path);
std::optional<int64_t> get_int(const ordered_json& object, std::string_view path);
// on/off, true/false, yes/no, 1/0.
std::optional<bool> get_bool(const ordered_json& object, std::string_view path);

}  // namespace iodiag::stack
