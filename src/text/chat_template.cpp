#include "text/chat_template.h"

#include "text/jinja_ast.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_parser.h"

namespace muse::text {

namespace {

std::string location_message(const std::string& name, uint32_t line, uint32_t col, const std::string& what) {
  if (line == 0) return fmt::format("template {}: {}", name, what);
  return fmt::format("template {} line {} col {}: {}", name, line, col, what);
}

TemplateError to_template_error(const jinja::Failure& f, const std::string& name) {
  using jinja::FailKind;
  TemplateError::Kind kind = TemplateError::Kind::kRender;
  ErrorCode code = ErrorCode::kInvalidArgument;  // the template (or its variables) must change
  switch (f.kind) {
    case FailKind::kSyntax:
      kind = TemplateError::Kind::kSyntax;
      break;
    case FailKind::kRaised:
      kind = TemplateError::Kind::kRaised;
      break;
    case FailKind::kLimit:
      kind = TemplateError::Kind::kLimit;
      code = ErrorCode::kOutOfRange;
      break;
    case FailKind::kUnsupported:
      code = ErrorCode::kUnsupported;
      break;
    default:
      break;
  }
  return TemplateError(code, kind, name, f.pos.line, f.pos.col, jinja::fail_kind_name(f.kind), f.message);
}

}  // namespace

TemplateError::TemplateError(ErrorCode code, Kind kind, std::string template_name, uint32_t line, uint32_t col,
                             std::string python_class, std::string detail)
    : muse::Error(code, location_message(template_name, line, col,
                                         kind == Kind::kSyntax   ? "syntax error: " + detail
                                         : kind == Kind::kRaised ? "raise_exception: " + detail
                                         : kind == Kind::kLimit  ? "limit exceeded: " + detail
                                                                 : python_class + ": " + detail)),
      kind_(kind),
      template_name_(std::move(template_name)),
      line_(line),
      col_(col),
      python_class_(std::move(python_class)),
      detail_(std::move(detail)) {}

std::function<std::tm()> fixed_clock(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = 0;
  // timegm normalises the fields and fills tm_wday/tm_yday without consulting the local zone.
  const std::time_t t = timegm(&tm);
  gmtime_r(&t, &tm);
  return [tm] { return tm; };
}

ChatTemplate ChatTemplate::parse(std::string source, std::string name) {
  ChatTemplate t;
  try {
    auto program = std::make_shared<jinja::Program>(jinja::parse_template(source, name));
    t.program_ = std::move(program);
  } catch (const jinja::Failure& f) {
    throw to_template_error(f, name);
  }
  t.source_ = std::move(source);
  t.name_ = std::move(name);
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& variables, const RenderOptions& options) const {
  if (!variables.is_object()) {
    throw TemplateError(ErrorCode::kInvalidArgument, TemplateError::Kind::kRender, name_, 0, 0, "TypeError",
                        fmt::format("template variables must be a JSON object, not {}", variables.type_name()));
  }
  jinja::InterpreterOptions io;
  io.clock = options.clock;
  io.max_output_bytes = options.max_output_bytes;
  io.max_steps = options.max_steps;
  io.max_call_depth = options.max_call_depth;
  try {
    const jinja::Value vars = jinja::Value::from_json(variables);
    jinja::Interpreter interp(*program_, std::move(io));
    return interp.render(vars);
  } catch (const jinja::Failure& f) {
    throw to_template_error(f, name_);
  }
}

}  // namespace muse::text
