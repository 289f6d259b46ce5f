#include "train/loss_log.h"

#include <cairo.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "core/error.h"

namespace muse::train {
namespace {

constexpr std::string_view kHeader = "step,loss,lr,grad_norm,tokens_per_s,elapsed_s";

template <typename T>
T parse_field(std::string_view s, const std::string& name, size_t line, const char* field) {
  T v{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    fail(ErrorCode::kCorruption, "{}: line {}: field {} = \"{}\" is not a number", name, line, field, s);
  }
  return v;
}

}  // namespace

double nice_step(double range, int n) {
  const double raw = range / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10.0 * p;
}

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string format_loss_csv(std::span<const LossPoint> points) {
  std::string out(kHeader);
  out += '\n';
  for (const LossPoint& p : points) {
    out += fmt::format("{},{:.6g},{:.6g},{:.6g},{:.1f},{:.3f}\n", p.step, p.loss, p.lr, p.grad_norm, p.tokens_per_s,
                       p.elapsed_s);
  }
  return out;
}

std::vector<LossPoint> parse_loss_csv(std::string_view text, const std::string& name) {
  std::vector<LossPoint> points;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line_no++;
    if (line_no == 1) {
      if (line != kHeader) fail(ErrorCode::kCorruption, "{}: line 1: expected the header \"{}\"", name, kHeader);
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string_view> f;
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      f.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (f.size() != 6) fail(ErrorCode::kCorruption, "{}: line {}: {} fields, expected 6", name, line_no, f.size());
    LossPoint p;
    p.step = parse_field<int64_t>(f[0], name, line_no, "step");
    p.loss = parse_field<float>(f[1], name, line_no, "loss");
    p.lr = parse_field<float>(f[2], name, line_no, "lr");
    p.grad_norm = parse_field<float>(f[3], name, line_no, "grad_norm");
    p.tokens_per_s = parse_field<double>(f[4], name, line_no, "tokens_per_s");
    p.elapsed_s = parse_field<double>(f[5], name, line_no, "elapsed_s");
    points.push_back(p);
  }
  return points;
}

std::vector<uint8_t> render_loss_plot_png(std::span<const LossPoint> points, const std::string& title, int width,
                                          int height) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_owner(cairo_create(surface.get()), cairo_destroy);
  cairo_t* cr = cr_owner.get();
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    fail(ErrorCode::kIOError, "loss plot: cairo: {}", cairo_status_to_string(cairo_status(cr)));
  }
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  const double left = 70, right = width - 20.0, top = 40, bottom = height - 50.0;
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, left, 25);
  cairo_show_text(cr, title.c_str());

  // Data ranges; a degenerate range (one point, constant loss) is widened so the scale is finite.
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::vector<LossPoint> finite;
  for (const LossPoint& p : points) {
    if (std::isfinite(p.loss)) finite.push_back(p);
  }
  if (!finite.empty()) {
    x0 = static_cast<double>(finite.front().step);
    x1 = static_cast<double>(finite.back().step);
    y0 = y1 = finite.front().loss;
    for (const LossPoint& p : finite) y0 = std::min<double>(y0, p.loss), y1 = std::max<double>(y1, p.loss);
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    y0 = std::max(0.0, y0 - 0.05 * (y1 - y0));
    y1 += 0.05 * (y1 - y0);
  }
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  // Grid, ticks and labels.
  cairo_set_font_size(cr, 11);
  cairo_set_line_width(cr, 1);
  const double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 6);
  for (double x = std::ceil(x0 / xs) * xs; x <= x1 + 1e-9; x += xs) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(x), top);
    cairo_line_to(cr, px(x), bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    const std::string label = fmt::format("{:g}", x);
    cairo_move_to(cr, px(x) - 3.0 * static_cast<double>(label.size()), bottom + 15);
    cairo_show_text(cr, label.c_str());
  }
  for (double y = std::ceil(y0 / ys) * ys; y <= y1 + 1e-9; y += ys) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, py(y));
    cairo_line_to(cr, right, py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    const std::string label = fmt::format("{:.3g}", y);
    cairo_move_to(cr, 8, py(y) + 4);
    cairo_show_text(cr, label.c_str());
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  cairo_move_to(cr, (left + right) / 2 - 15, height - 12.0);
  cairo_show_text(cr, "step");
  cairo_move_to(cr, 8, top - 8);
  cairo_show_text(cr, "loss");

  // Raw loss (light blue), then its EMA (dark blue) on top.
  if (!finite.empty()) {
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.65, 0.78, 0.95);
    for (size_t i = 0; i < finite.size(); i++) {
      const double x = px(static_cast<double>(finite[i].step)), y = py(finite[i].loss);
      i == 0 ? cairo_move_to(cr, x, y) : cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    cairo_set_line_width(cr, 2);
    cairo_set_source_rgb(cr, 0.05, 0.25, 0.6);
    double ema = finite[0].loss;
    for (size_t i = 0; i < finite.size(); i++) {
      ema = 0.9 * ema + 0.1 * finite[i].loss;
      const double x = px(static_cast<double>(finite[i].step)), y = py(ema);
      i == 0 ? cairo_move_to(cr, x, y) : cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
  }

  cairo_surface_flush(surface.get());
  std::vector<uint8_t> png;
  auto write = [](void* closure, const unsigned char* data, unsigned int length) -> cairo_status_t {
    auto* out = static_cast<std::vector<uint8_t>*>(closure);
    out->insert(out->end(), data, data + length);
    return CAIRO_STATUS_SUCCESS;
  };
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface.get(), write, &png);
  if (st != CAIRO_STATUS_SUCCESS) fail(ErrorCode::kIOError, "loss plot: cairo PNG encoding: {}", cairo_status_to_string(st));
  return png;
}

}  // namespace muse::train
