#pragma once
// The page `convkit serve` answers at "/": drop an image, see the top 5 and a Grad-CAM overlay.
// Opened at "/#selftest" it draws an image itself and sends it through the same code, then marks
// <body data-selftest="ok"> (scripts/check_serve_chromium.sh checks that in headless Chromium).
namespace convkit::cli {
const char* serve_page_html();
}
