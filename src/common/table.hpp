// A plain text table for terminal output: column widths from the content, each column left or
// right aligned, two spaces between columns, a dashed rule under the header.
#pragma once

#include <string>
#include <vector>

namespace iodiag {

class Table {
public:
    enum class Align { left, right };
    struct Column {
        std::string title;
        Align align = Align::left;
    };

    explicit Table(std::vector<Column> columns);
    // Missing cells print empty; extra cells are dropped.
    void add_row(std::vector<std::string> cells);
    // Every line ends with '\n'; no trailing spaces. Widths count bytes (cells are ASCII).
    std::string render() const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace iodiag
