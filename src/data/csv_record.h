#pragma once
// One record of a CSV list (image lists, their metadata columns).
#include <string>
#include <vector>

namespace convkit::data::csv {

// The fields of one line (RFC 4180 quoting; a quoted field may not span lines); unquoted fields
// are trimmed. Throws naming `where` (file:line) on an unterminated quote.
std::vector<std::string> split_record(const std::string& line, const std::string& where);

}  // namespace convkit::data::csv
