#include "common/table.hpp"

#include <algorithm>

namespace iodiag {

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    std::vector<size_t> widths;
    for (const Column& column : columns_) widths.push_back(column.title.size());
    for (const auto& row : rows_)
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());

    std::string out;
    auto line = [&](auto cell_at) {
        std::string text;
        for (size_t i = 0; i < columns_.size(); ++i) {
            const std::string& cell = cell_at(i);
            std::string pad(widths[i] - cell.size(), ' ');
            if (i) text += "  ";
            text += columns_[i].align == Align::right ? pad + cell : cell + pad;
        }
        text.erase(text.find_last_not_of(' ') + 1);
        out += text + '\n';
    };
    line([&](size_t i) -> const std::string& { return columns_[i].title; });
    std::vector<std::string> rule;
    for (size_t width : widths) rule.emplace_back(width, '-');
    line([&](size_t i) -> const std::string& { return rule[i]; });
    for (const auto& row : rows_) line([&](size_t i) -> const std::string& { return row[i]; });
    return out;
}

}  // namespace iodiag
