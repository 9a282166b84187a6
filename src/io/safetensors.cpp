#include "convkit/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <vector>

namespace convkit::io {

namespace {
using json = nlohmann::json;
constexpr uint64_t kMaxHeader = uint64_t(100) << 20;  // the reference implementation's limit
constexpr int kMaxDepth = 8;                          // {"name": {"shape": [..]}} needs 3

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "F32")
    *out = DType::f32;
  else if (s == "F64")
    *out = DType::f64;
  else if (s == "I64")
    *out = DType::i64;
  else if (s == "U8")
    *out = DType::u8;
  else
    return false;
  return true;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error("safetensors: " + path + ": " + what);
}

// Parses the header, refusing a key given twice in any object (nlohmann keeps the last silently).
json parse_header(const std::string& path, std::string_view header) {
  std::vector<std::set<std::string>> keys;  // the keys of each object being parsed
  std::string duplicate;
  auto track = [&](int depth, json::parse_event_t event, json& parsed) {
    // Deeper values are no valid header, and printing them in a message would recurse as deep.
    if (depth > kMaxDepth) fail(path, "header nests deeper than " + std::to_string(kMaxDepth));
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end) keys.pop_back();
    if (event == json::parse_event_t::key &&
        !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(header.begin(), header.end(), track);
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicate.empty())
    fail(path, "header names '" + duplicate + "' twice (each key must be unique)");
  if (!j.is_object()) fail(path, "header is not a JSON object");
  return j;
}
}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open (") + std::strerror(errno) + ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, std::string("read error (") + std::strerror(errno) + ")");
  return parse_safetensors(bytes, path);
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path) {
  const uint64_t file_size = bytes.size();
  if (file_size < 8)
    fail(
        path,
        "file has " + std::to_string(file_size) +
            " bytes, too short for the 8-byte header length (truncated or not a safetensors file)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(bytes[size_t(i)]);
  if (header_len > kMaxHeader || header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                   std::to_string(file_size) + " (truncated or not a safetensors file)");
  const json j = parse_header(path, bytes.substr(8, header_len));
  const std::string_view data = bytes.substr(8 + header_len);
  const uint64_t data_size = data.size();

  SafetensorsFile out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not an object");
      for (auto& [k, mv] : v.items()) {
        if (!mv.is_string()) fail(path, "metadata value of '" + k + "' is not a string");
        out.metadata[k] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      fail(path, where + " lacks dtype, shape or data_offsets");
    DType dt;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), &dt))
      fail(path, where + " has unsupported dtype " + v["dtype"].dump() +
                     " (supported: F32, F64, I64, U8)");
    if (!v["shape"].is_array())
      fail(path, where + " has shape " + v["shape"].dump() + ", not an array of dimensions");
    std::vector<int64_t> dims;
    for (auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        fail(path, where + " has a bad shape " + v["shape"].dump());
      dims.push_back(d.get<int64_t>());
    }
    if (dims.size() > size_t(Shape::kMaxDims))
      fail(path, where + " has more than " + std::to_string(Shape::kMaxDims) + " dimensions");
    auto& offs = v["data_offsets"];
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() ||
        !offs[1].is_number_unsigned())
      fail(path, where + " has malformed data_offsets " + offs.dump());
    uint64_t b = offs[0].get<uint64_t>(), e = offs[1].get<uint64_t>();
    Shape shape(dims);
    uint64_t want = 0;
    try {
      if (__builtin_mul_overflow(uint64_t(shape.checked_numel()), dtype_size(dt), &want))
        throw Error("the byte count of " + shape.to_string() + " overflows");
    } catch (const Error& err) {
      fail(path, where + ": " + err.what());
    }
    if (b > e || e > data_size)
      fail(path, where + " data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                     ") lie outside the " + std::to_string(data_size) +
                     "-byte data section (truncated file?)");
    if (e - b != want)
      fail(path, where + " holds " + std::to_string(e - b) + " bytes but shape " +
                     shape.to_string() + " of " + dtype_name(dt) + " needs " +
                     std::to_string(want));
    ranges.push_back({b, e});
    Tensor t = Tensor::empty(shape, dt);
    if (want > 0) std::memcpy(t.raw_data(), data.data() + b, want);
    out.tensors.emplace(name, t);
  }
  // As the reference reader: the tensors tile the data section, in offset order, with no gap
  // (hidden bytes) and no overlap.
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b < covered) fail(path, "two tensors' data ranges overlap");
    if (b > covered)
      fail(path, "bytes [" + std::to_string(covered) + ", " + std::to_string(b) +
                     ") of the data section belong to no tensor (a malformed or tampered file)");
    covered = e;
  }
  if (covered != data_size)
    fail(path, "bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
                   ") at the end of the data section belong to no tensor (a malformed or "
                   "tampered file)");
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    CONVKIT_CHECK(t.defined(), "safetensors: ", path, ": tensor '", name, "' is undefined");
    header[name] = {{"dtype", st_dtype(t.dtype())},
                    {"shape", t.shape().vec()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned

  namespace fs = std::filesystem;
  fs::path final_path(path);
  fs::path tmp = final_path;
  tmp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    fail(path, std::string("cannot create temporary file ") + tmp.string() + " (" +
                   std::strerror(errno) + "); check that the folder exists and is writable");
  auto write_all = [&](const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(fd, c, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        fail(path, std::string("write failed (") + std::strerror(err) + ")");
      }
      c += w;
      n -= size_t(w);
    }
  };
  unsigned char len_bytes[8];
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = (n >> (8 * i)) & 0xff;
  write_all(len_bytes, 8);
  write_all(h.data(), h.size());
  for (auto& [name, t] : tensors) write_all(t.raw_data(), t.nbytes());
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(path, std::string("fsync/close failed (") + std::strerror(errno) + ")");
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    fail(path, "rename from temporary file failed (" + ec.message() + ")");
  }
}

}  // namespace convkit::io
