#include <catch2/catch.hpp>

#include "common/table.hpp"

using iodiag::Table;

TEST_CASE("Table sizes columns to content and aligns them", "[table]") {
    Table table({{"name", Table::Align::left}, {"IOPS", Table::Align::right}, {"note"}});
    table.add_row({"randread-4k", "1965", "x"});
    table.add_row({"w", "500"});  // missing cell prints empty
    CHECK(table.render() ==
          "name         IOPS  note\n"
          "-----------  ----  ----\n"
          "randread-4k  1965  x\n"
          "w             500\n");
}

TEST_CASE("Table with no rows prints the header", "[table]") {
    Table table({{"a"}, {"bb", Table::Align::right}});
    CHECK(table.render() == "a  bb\n-  --\n");
}
