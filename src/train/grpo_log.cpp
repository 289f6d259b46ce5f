#include "train/grpo_log.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>

#include "core/error.h"
#include "train/loss_log.h"

namespace muse::train {
namespace {

constexpr std::string_view kHeader =
    "step,phase,lr,reward,accuracy,think_mean,think_p90,completion_mean,kl,clip_frac,grad_norm,val_accuracy,"
    "val_think_mean,rollout_s,update_s,rollout_tok_s,elapsed_s";
constexpr size_t kFields = 17;

double parse_double(std::string_view s, const std::string& name, size_t line, size_t field) {
  const std::string str(s);
  if (str == "nan") return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  const double v = std::strtod(str.c_str(), &end);
  if (str.empty() || end != str.c_str() + str.size()) {
    fail(ErrorCode::kCorruption, "{}: line {}: field {} = \"{}\" is not a number", name, line, field + 1, s);
  }
  return v;
}

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string("nan"); }

struct Series {
  const char* label;
  std::function<double(const GrpoPoint&)> get;
  double r, g, b;
};

// One panel: the series against step in the box (x, y, w, h); NaN points are skipped.
void draw_panel(cairo_t* cr, std::span<const GrpoPoint> pts, const std::string& title, std::span<const Series> series,
                double x, double y, double w, double h) {
  const double left = x + 55, right = x + w - 10, top = y + 28, bottom = y + h - 30;
  double x0 = 0, x1 = 1, y0 = std::numeric_limits<double>::infinity(), y1 = -y0;
  if (!pts.empty()) x0 = static_cast<double>(pts.front().step), x1 = static_cast<double>(pts.back().step);
  if (x1 <= x0) x1 = x0 + 1;
  for (const Series& s : series) {
    for (const GrpoPoint& p : pts) {
      const double v = s.get(p);
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
    }
  }
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double v) { return left + (v - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double v) { return bottom - (v - y0) / (y1 - y0) * (bottom - top); };

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 13);
  cairo_move_to(cr, left, y + 18);
  cairo_show_text(cr, title.c_str());
  cairo_set_font_size(cr, 10);
  cairo_set_line_width(cr, 1);
  const double xs = nice_step(x1 - x0, 5), ys = nice_step(y1 - y0, 4);
  for (double v = std::ceil(x0 / xs) * xs; v <= x1 + 1e-9; v += xs) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(v), top);
    cairo_line_to(cr, px(v), bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    const std::string label = fmt::format("{:g}", v);
    cairo_move_to(cr, px(v) - 3.0 * static_cast<double>(label.size()), bottom + 13);
    cairo_show_text(cr, label.c_str());
  }
  for (double v = std::ceil(y0 / ys) * ys; v <= y1 + 1e-9; v += ys) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, py(v));
    cairo_line_to(cr, right, py(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    const std::string label = fmt::format("{:.3g}", v);
    cairo_move_to(cr, x + 5, py(v) + 4);
    cairo_show_text(cr, label.c_str());
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  double legend_x = left + 5;
  for (const Series& s : series) {
    cairo_set_source_rgb(cr, s.r, s.g, s.b);
    cairo_set_line_width(cr, 1.5);
    bool pen = false;
    for (const GrpoPoint& p : pts) {
      const double v = s.get(p);
      if (!std::isfinite(v)) continue;
      pen ? cairo_line_to(cr, px(static_cast<double>(p.step)), py(v))
          : cairo_move_to(cr, px(static_cast<double>(p.step)), py(v));
      pen = true;
    }
    cairo_stroke(cr);
    if (series.size() > 1) {
      cairo_move_to(cr, legend_x, top + 12);
      cairo_show_text(cr, s.label);
      legend_x += 8.0 * static_cast<double>(std::string_view(s.label).size()) + 10;
    }
  }
}

}  // namespace

std::string format_grpo_csv(std::span<const GrpoPoint> points) {
  std::string out(kHeader);
  out += '\n';
  for (const GrpoPoint& p : points) {
    out += fmt::format("{},{},{:.6g},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", p.step, p.phase, p.lr, num(p.reward),
                       num(p.accuracy), num(p.think_mean), num(p.think_p90), num(p.completion_mean), num(p.kl),
                       num(p.clip_frac), num(p.grad_norm), num(p.val_accuracy), num(p.val_think_mean),
                       num(p.rollout_s), num(p.update_s), num(p.rollout_tok_s), num(p.elapsed_s));
  }
  return out;
}

std::vector<GrpoPoint> parse_grpo_csv(std::string_view text, const std::string& name) {
  std::vector<GrpoPoint> points;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line_no++;
    if (line_no == 1) {
      if (line != kHeader) fail(ErrorCode::kCorruption, "{}: line 1: expected the header \"{}\"", name, kHeader);
      continue;
    }
    if (line.empty()) continue;
    std::vector<double> f;
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      const std::string_view field =
          line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (f.size() == kFields) fail(ErrorCode::kCorruption, "{}: line {}: more than {} fields", name, line_no, kFields);
      f.push_back(parse_double(field, name, line_no, f.size()));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (f.size() != kFields) {
      fail(ErrorCode::kCorruption, "{}: line {}: {} fields, expected {}", name, line_no, f.size(), kFields);
    }
    if (!std::isfinite(f[0]) || !std::isfinite(f[1])) {
      fail(ErrorCode::kCorruption, "{}: line {}: step and phase must be numbers", name, line_no);
    }
    GrpoPoint p;
    p.step = static_cast<int64_t>(f[0]);
    p.phase = static_cast<int64_t>(f[1]);
    p.lr = static_cast<float>(f[2]);
    double* dst[] = {&p.reward,      &p.accuracy,     &p.think_mean,     &p.think_p90, &p.completion_mean,
                     &p.kl,          &p.clip_frac,    &p.grad_norm,      &p.val_accuracy, &p.val_think_mean,
                     &p.rollout_s,   &p.update_s,     &p.rollout_tok_s,  &p.elapsed_s};
    for (size_t i = 0; i < std::size(dst); i++) *dst[i] = f[3 + i];
    points.push_back(p);
  }
  return points;
}

std::vector<uint8_t> render_grpo_plot_png(std::span<const GrpoPoint> points, const std::string& title, int width,
                                          int height) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> owner(cairo_create(surface.get()), cairo_destroy);
  cairo_t* cr = owner.get();
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    fail(ErrorCode::kIOError, "grpo plot: cairo: {}", cairo_status_to_string(cairo_status(cr)));
  }
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, 15, 22);
  cairo_show_text(cr, title.c_str());

  const Series acc[] = {{"validation", [](const GrpoPoint& p) { return p.val_accuracy; }, 0.05, 0.25, 0.6},
                        {"rollouts", [](const GrpoPoint& p) { return p.accuracy; }, 0.6, 0.7, 0.9}};
  const Series think[] = {{"mean", [](const GrpoPoint& p) { return p.think_mean; }, 0.05, 0.25, 0.6},
                          {"p90", [](const GrpoPoint& p) { return p.think_p90; }, 0.8, 0.4, 0.1},
                          {"val mean", [](const GrpoPoint& p) { return p.val_think_mean; }, 0.2, 0.6, 0.2}};
  const Series reward[] = {{"reward", [](const GrpoPoint& p) { return p.reward; }, 0.05, 0.25, 0.6}};
  const Series kl[] = {{"kl", [](const GrpoPoint& p) { return p.kl; }, 0.05, 0.25, 0.6}};
  const Series clip[] = {{"clip", [](const GrpoPoint& p) { return p.clip_frac; }, 0.05, 0.25, 0.6}};
  const Series secs[] = {{"rollout", [](const GrpoPoint& p) { return p.rollout_s; }, 0.05, 0.25, 0.6},
                         {"update", [](const GrpoPoint& p) { return p.update_s; }, 0.8, 0.4, 0.1}};
  const double top = 30, pw = width / 3.0, ph = (height - top) / 2.0;
  draw_panel(cr, points, "accuracy", acc, 0, top, pw, ph);
  draw_panel(cr, points, "thinking tokens", think, pw, top, pw, ph);
  draw_panel(cr, points, "reward (mean)", reward, 2 * pw, top, pw, ph);
  draw_panel(cr, points, "KL to reference (per token)", kl, 0, top + ph, pw, ph);
  draw_panel(cr, points, "clip fraction", clip, pw, top + ph, pw, ph);
  draw_panel(cr, points, "seconds per step", secs, 2 * pw, top + ph, pw, ph);

  cairo_surface_flush(surface.get());
  std::vector<uint8_t> png;
  auto write = [](void* closure, const unsigned char* data, unsigned int length) -> cairo_status_t {
    auto* out = static_cast<std::vector<uint8_t>*>(closure);
    out->insert(out->end(), data, data + length);
    return CAIRO_STATUS_SUCCESS;
  };
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface.get(), write, &png);
  if (st != CAIRO_STATUS_SUCCESS) fail(ErrorCode::kIOError, "grpo plot: cairo PNG encoding: {}", cairo_status_to_string(st));
  return png;
}

}  // namespace muse::train
