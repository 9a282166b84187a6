#include "convkit/data/recipe.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "convkit/data/augment.h"
#include "convkit/error.h"

namespace convkit::data {

namespace {
using json = nlohmann::json;

// One transform's JSON object, read with type checks; errors carry `where`.
class Item {
 public:
  Item(const json& j, std::string where) : j_(j), where_(std::move(where)) {}
  const std::string& where() const { return where_; }
  bool has(const char* key) const { return j_.contains(key); }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    CONVKIT_CHECK(v.is_number(), where_, ": '", key, "' must be a number, got ", v.dump());
    return v.get<double>();
  }
  int integer(const char* key, int fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    CONVKIT_CHECK(v.is_number_integer(), where_, ": '", key, "' must be an integer, got ",
                  v.dump());
    return v.get<int>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    CONVKIT_CHECK(v.is_boolean(), where_, ": '", key, "' must be true or false, got ", v.dump());
    return v.get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    CONVKIT_CHECK(v.is_string(), where_, ": '", key, "' must be a string, got ", v.dump());
    return v.get<std::string>();
  }
  std::pair<double, double> range(const char* key, std::pair<double, double> fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    CONVKIT_CHECK(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number(), where_,
                  ": '", key, "' must be [min, max], got ", v.dump());
    return {v[0].get<double>(), v[1].get<double>()};
  }
  // "size": N (square) or [height, width]; 0 means the input's size.
  std::pair<int, int> size(const char* key, std::pair<int, int> fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (v.is_number_integer()) return {v.get<int>(), v.get<int>()};
    CONVKIT_CHECK(
        v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
        where_, ": '", key, "' must be an integer or [height, width], got ", v.dump());
    return {v[0].get<int>(), v[1].get<int>()};
  }
  Fill fill() const {
    Fill f;
    f.mode = parse_fill_mode(string("fill", "constant"));
    f.value = number("fill_value", 0);
    return f;
  }
  const json& at(const char* key) const { return j_.at(key); }

 private:
  const json& j_;
  std::string where_;
};

TransformPtr build_list(const json& list, const RecipeContext& ctx, const std::string& where);

struct Kind {
  std::vector<std::string> keys;  // besides "type"
  std::function<TransformPtr(const Item&, const RecipeContext&)> build;
};

const std::map<std::string, Kind>& kinds() {
  static const std::map<std::string, Kind> k = {
      {"compose",
       {{"transforms"},
        [](const Item& it, const RecipeContext& ctx) {
          CONVKIT_CHECK(it.has("transforms"), it.where(), ": needs 'transforms'");
          return build_list(it.at("transforms"), ctx, it.where());
        }}},
      {"random_apply",
       {{"p", "transforms"},
        [](const Item& it, const RecipeContext& ctx) {
          CONVKIT_CHECK(it.has("transforms"), it.where(), ": needs 'transforms'");
          return random_apply(it.number("p", 0.5),
                              build_list(it.at("transforms"), ctx, it.where()));
        }}},
      {"horizontal_flip",
       {{"p"},
        [](const Item& it, const RecipeContext&) { return horizontal_flip(it.number("p", 0.5)); }}},
      {"vertical_flip",
       {{"p"},
        [](const Item& it, const RecipeContext&) { return vertical_flip(it.number("p", 0.5)); }}},
      {"resize",
       {{"size"},
        [](const Item& it, const RecipeContext&) {
          auto [h, w] = it.size("size", {0, 0});
          return resize(h, w);
        }}},
      {"center_crop",
       {{"size"},
        [](const Item& it, const RecipeContext&) {
          auto [h, w] = it.size("size", {0, 0});
          return center_crop(h, w);
        }}},
      {"random_crop",
       {{"size", "padding", "fill", "fill_value"},
        [](const Item& it, const RecipeContext&) {
          auto [h, w] = it.size("size", {0, 0});
          return random_crop(
              {.height = h, .width = w, .padding = it.integer("padding", 0), .fill = it.fill()});
        }}},
      {"random_resized_crop",
       {{"size", "scale", "ratio"},
        [](const Item& it, const RecipeContext&) {
          RandomResizedCropOptions o;
          std::tie(o.height, o.width) = it.size("size", {0, 0});
          o.scale = it.range("scale", o.scale);
          o.ratio = it.range("ratio", o.ratio);
          return random_resized_crop(o);
        }}},
      {"scale_jitter",
       {{"min_side", "max_side", "size"},
        [](const Item& it, const RecipeContext&) {
          ScaleJitterOptions o;
          o.min_side = it.integer("min_side", o.min_side);
          o.max_side = it.integer("max_side", o.max_side);
          std::tie(o.height, o.width) = it.size("size", {0, 0});
          return scale_jitter(o);
        }}},
      {"random_affine",
       {{"rotation", "shift", "width_shift", "height_shift", "shear", "zoom", "fill", "fill_value"},
        [](const Item& it, const RecipeContext&) {
          const double shift = it.number("shift", 0);
          return random_affine({.rotation = it.number("rotation", 0),
                                .width_shift = it.number("width_shift", shift),
                                .height_shift = it.number("height_shift", shift),
                                .shear = it.number("shear", 0),
                                .zoom = it.number("zoom", 0),
                                .fill = it.fill()});
        }}},
      {"affine",
       {{"rotation", "shift", "shear", "zoom", "fill", "fill_value"},
        [](const Item& it, const RecipeContext&) {
          const std::pair<double, double> shift = it.range("shift", {0, 0});
          return affine({.rotation = it.number("rotation", 0),
                         .shift_x = shift.first,
                         .shift_y = shift.second,
                         .shear = it.number("shear", 0),
                         .zoom = it.number("zoom", 1)},
                        it.fill());
        }}},
      {"color_jitter",
       {{"brightness", "contrast", "saturation"},
        [](const Item& it, const RecipeContext&) {
          return color_jitter({.brightness = it.number("brightness", 0),
                               .contrast = it.number("contrast", 0),
                               .saturation = it.number("saturation", 0)});
        }}},
      {"channel_shift",
       {{"range"},
        [](const Item& it, const RecipeContext&) { return channel_shift(it.number("range", 0)); }}},
      {"pca_lighting",
       {{"std", "eigenvalues", "eigenvectors"},
        [](const Item& it, const RecipeContext& ctx) {
          ColorPca pca;
          if (it.has("eigenvalues") || it.has("eigenvectors")) {
            CONVKIT_CHECK(it.has("eigenvalues") && it.has("eigenvectors"), it.where(),
                          ": give both 'eigenvalues' and 'eigenvectors', or neither (then they are "
                          "computed from the training set)");
            try {
              pca.eigenvalues = it.at("eigenvalues").get<std::vector<double>>();
              pca.eigenvectors = it.at("eigenvectors").get<std::vector<std::vector<double>>>();
            } catch (const json::exception&) {
              throw Error(it.where() +
                          ": 'eigenvalues' must be a list of numbers and "
                          "'eigenvectors' a list of lists of numbers");
            }
          } else {
            CONVKIT_CHECK(ctx.training_images != nullptr, it.where(),
                          ": no training images to compute the colour PCA from; give "
                          "'eigenvalues' and 'eigenvectors'");
            pca = color_pca(ctx.training_images());
          }
          return pca_lighting(it.number("std", 0.1), pca);
        }}},
      {"random_erasing",
       {{"p", "scale", "ratio", "value"},
        [](const Item& it, const RecipeContext&) {
          RandomErasingOptions o;
          o.p = it.number("p", o.p);
          o.scale = it.range("scale", o.scale);
          o.ratio = it.range("ratio", o.ratio);
          if (it.has("value") && it.at("value").is_string()) {
            CONVKIT_CHECK(it.string("value", "") == "random", it.where(),
                          ": 'value' must be a number or \"random\", got ", it.at("value").dump());
            o.random_value = true;
          } else {
            o.value = it.number("value", 0);
          }
          return random_erasing(o);
        }}},
      {"cutout",
       {{"size", "p", "value"},
        [](const Item& it, const RecipeContext&) {
          CONVKIT_CHECK(it.has("size"), it.where(), ": needs 'size'");
          return cutout(it.integer("size", 0), it.number("p", 1.0), it.number("value", 0));
        }}},
  };
  return k;
}

std::string join_keys(const std::map<std::string, Kind>& m) {
  std::string s;
  for (const auto& [name, kind] : m) s += (s.empty() ? "" : ", ") + name;
  return s;
}

TransformPtr build_one(const json& j, const RecipeContext& ctx, const std::string& where) {
  CONVKIT_CHECK(j.is_object(), where, ": must be an object {\"type\": ..., ...}, got ", j.dump());
  CONVKIT_CHECK(j.contains("type") && j["type"].is_string(), where, ": needs a \"type\" (one of ",
                join_keys(kinds()), ")");
  const std::string type = j["type"].get<std::string>();
  auto it = kinds().find(type);
  CONVKIT_CHECK(it != kinds().end(), where, ": unknown type '", type,
                "' (known: ", join_keys(kinds()), ")");
  const std::string here = where + " (" + type + ")";
  const Kind& kind = it->second;
  for (const auto& [key, value] : j.items()) {
    if (key == "type" || std::find(kind.keys.begin(), kind.keys.end(), key) != kind.keys.end())
      continue;
    std::string known;
    for (const std::string& k : kind.keys) known += (known.empty() ? "" : ", ") + k;
    throw Error(detail::concat(here, ": unknown key '", key, "' (known: ", known, ")"));
  }
  try {
    return kind.build(Item(j, here), ctx);
  } catch (const Error& e) {
    // Constructor checks name the transform but not its place in the recipe.
    const std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw Error(here + ": " + msg);
  }
}

TransformPtr build_list(const json& list, const RecipeContext& ctx, const std::string& where) {
  CONVKIT_CHECK(list.is_array(), where, ": 'transforms' must be a list, got ", list.dump());
  std::vector<TransformPtr> out;
  for (size_t k = 0; k < list.size(); ++k)
    out.push_back(build_one(list[k], ctx, detail::concat(where, ": transform ", k)));
  return compose(std::move(out));
}
}  // namespace

TransformPtr parse_recipe(const std::string& json_text, const RecipeContext& context,
                          const std::string& origin) {
  const std::string where = "recipe " + origin;
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
  if (j.is_object()) {
    for (const auto& [key, value] : j.items())
      CONVKIT_CHECK(key == "transforms", where, ": unknown top-level key '", key,
                    "' (a recipe is {\"transforms\": [...]} or a bare list)");
    CONVKIT_CHECK(j.contains("transforms"), where, ": needs \"transforms\": [...]");
    return build_list(j["transforms"], context, where);
  }
  return build_list(j, context, where);
}

TransformPtr load_recipe(const std::string& path, const RecipeContext& context) {
  std::ifstream in(path);
  CONVKIT_CHECK(in.good(), "recipe ", path, ": cannot open the file (check the --augment path)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_recipe(text.str(), context, path);
}

std::string recipe_from_flags(const AugmentFlags& f) {
  json list = json::array();
  const json size = f.crop;
  if (!f.scale_jitter.empty()) {
    CONVKIT_CHECK(f.scale_jitter.size() == 2, "--scale-jitter takes MIN,MAX, got ",
                  f.scale_jitter.size(), " values");
    list.push_back({{"type", "scale_jitter"},
                    {"min_side", f.scale_jitter[0]},
                    {"max_side", f.scale_jitter[1]},
                    {"size", size}});
  } else if (f.resized_crop > 0) {
    list.push_back(
        {{"type", "random_resized_crop"}, {"size", size}, {"scale", {f.resized_crop, 1.0}}});
  } else if (f.crop > 0 || f.pad > 0) {
    list.push_back({{"type", "random_crop"}, {"size", size}, {"padding", f.pad}, {"fill", f.fill}});
  }
  if (f.hflip) list.push_back({{"type", "horizontal_flip"}});
  if (f.vflip) list.push_back({{"type", "vertical_flip"}});
  if (f.rotate > 0 || f.shift > 0 || f.shear > 0 || f.zoom > 0)
    list.push_back({{"type", "random_affine"},
                    {"rotation", f.rotate},
                    {"shift", f.shift},
                    {"shear", f.shear},
                    {"zoom", f.zoom},
                    {"fill", f.fill}});
  if (!f.color_jitter.empty()) {
    CONVKIT_CHECK(f.color_jitter.size() == 1 || f.color_jitter.size() == 3,
                  "--color-jitter takes B or B,C,S, got ", f.color_jitter.size(), " values");
    const auto& c = f.color_jitter;
    list.push_back({{"type", "color_jitter"},
                    {"brightness", c[0]},
                    {"contrast", c.size() == 3 ? c[1] : c[0]},
                    {"saturation", c.size() == 3 ? c[2] : c[0]}});
  }
  if (f.channel_shift > 0) list.push_back({{"type", "channel_shift"}, {"range", f.channel_shift}});
  if (f.pca_lighting > 0) list.push_back({{"type", "pca_lighting"}, {"std", f.pca_lighting}});
  if (f.erase > 0) list.push_back({{"type", "random_erasing"}, {"p", f.erase}});
  if (f.cutout > 0) list.push_back({{"type", "cutout"}, {"size", f.cutout}});
  return list.dump();
}

TransformPtr build_augmentation(const AugmentFlags& flags, const RecipeContext& context) {
  const std::string from_flags = recipe_from_flags(flags);
  const bool any_flag = from_flags != "[]";
  if (!flags.recipe.empty()) {
    CONVKIT_CHECK(!any_flag, "--augment ", flags.recipe,
                  " cannot be combined with other augmentation flags; put every transform in "
                  "the recipe (flags would add: ",
                  from_flags, ")");
    return load_recipe(flags.recipe, context);
  }
  if (!any_flag) return nullptr;
  return parse_recipe(from_flags, context, "from flags");
}

}  // namespace convkit::data
