// muse template: renders a conversation through a chat template and prints the exact prompt text
// the model would see. The template comes from a GGUF file's tokenizer.chat_template (falling back
// to a built-in format chosen from the model's metadata), from a .jinja file, or from a built-in name.
#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "text/chat_template.h"

namespace muse::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct TemplateArgs {
  std::string model;
  std::string template_file;
  std::string builtin;
  std::string template_name;
  std::string messages_file;
  std::string vars_file;
  std::string date;
};

std::string read_file(const std::string& path, const char* what) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kIOError, "cannot open {} '{}'", what, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(ErrorCode::kIOError, "cannot read {} '{}'", what, path);
  return ss.str();
}

ojson read_json(const std::string& path, const char* what) {
  const std::string text = read_file(path, what);
  try {
    return ojson::parse(text);  // ordered: tojson in templates keeps the file's key order
  } catch (const ojson::parse_error& e) {
    fail(ErrorCode::kInvalidArgument, "{} '{}' is not valid JSON: {}", what, path, e.what());
  }
}

// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" -> a fixed clock for strftime_now().
std::function<std::tm()> parse_date(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char tail = 0;
  const int n = std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d%c", &y, &mo, &d, &h, &mi, &sec, &tail);
  const bool ok = (n == 3 || n == 6) && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 &&
                  mi < 60 && sec >= 0 && sec < 61 && y >= 1 && y <= 9999;
  if (!ok) fail(ErrorCode::kInvalidArgument, "--date '{}': expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'", s);
  return text::fixed_clock(y, mo, d, h, mi, sec);
}

// The token text for a special-token id key (tokenizer.ggml.bos_token_id...), or "" when absent.
std::string special_token(const gguf::File& file, const std::vector<std::string>& tokens, const char* key) {
  if (!file.has(key)) return "";
  const int64_t id = file.get_i64(key);
  if (id < 0 || static_cast<size_t>(id) >= tokens.size()) {
    fail(ErrorCode::kCorruption, "{}: {} = {} is not a token id (vocabulary has {} tokens)", file.path(), key, id,
         tokens.size());
  }
  return tokens[static_cast<size_t>(id)];
}

void run_template(const TemplateArgs& args) {
  const int sources = !args.model.empty() + !args.template_file.empty() + !args.builtin.empty();
  if (sources != 1) fail(ErrorCode::kInvalidArgument, "give exactly one of MODEL, --template FILE or --builtin NAME");

  ojson vars = ojson::object();
  vars["add_generation_prompt"] = true;
  vars["bos_token"] = "";
  vars["eos_token"] = "";

  std::string source;
  std::string name;
  if (!args.model.empty()) {
    gguf::OpenOptions options;
    options.mode = gguf::LoadMode::kMmap;  // only the metadata is needed
    auto file = gguf::File::open(args.model, options);
    const std::string key =
        args.template_name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + args.template_name;
    source = file->get_string_or(key, "");
    const std::vector<std::string> tokens =
        file->has("tokenizer.ggml.tokens") ? file->get_string_array("tokenizer.ggml.tokens") : std::vector<std::string>{};
    vars["bos_token"] = special_token(*file, tokens, "tokenizer.ggml.bos_token_id");
    vars["eos_token"] = special_token(*file, tokens, "tokenizer.ggml.eos_token_id");
    name = args.model;
    if (source.empty()) {
      if (!args.template_name.empty()) fail(ErrorCode::kNotFound, "{}: no metadata key '{}'", args.model, key);
      const std::string fallback = text::builtin_template_for(file->get_string_or("general.architecture", ""), tokens);
      std::fprintf(stderr, "muse: note: %s has no tokenizer.chat_template; using the built-in '%s' format\n",
                   args.model.c_str(), fallback.c_str());
      source = std::string(text::builtin_template_source(fallback));
      name = "builtin:" + fallback;
    }
  } else if (!args.template_file.empty()) {
    source = read_file(args.template_file, "--template");
    name = args.template_file;
  } else {
    source = std::string(text::builtin_template_source(args.builtin));
    if (source.empty()) {
      std::string names;
      for (auto n : text::builtin_template_names()) names += (names.empty() ? "" : ", ") + std::string(n);
      fail(ErrorCode::kInvalidArgument, "--builtin '{}': unknown; built-in templates are {}", args.builtin, names);
    }
    name = "builtin:" + args.builtin;
  }

  // The conversation: a list of messages, or an object whose keys (messages, tools...) become variables.
  ojson conv = read_json(args.messages_file, "--messages");
  if (conv.is_array()) {
    vars["messages"] = std::move(conv);
  } else if (conv.is_object() && conv.contains("messages") && conv["messages"].is_array()) {
    for (auto& [k, v] : conv.items()) vars[k] = v;
  } else {
    fail(ErrorCode::kInvalidArgument, "--messages '{}': expected a JSON array of messages or an object with a "
         "\"messages\" array", args.messages_file);
  }
  if (!args.vars_file.empty()) {
    ojson extra = read_json(args.vars_file, "--vars");
    if (!extra.is_object()) fail(ErrorCode::kInvalidArgument, "--vars '{}': expected a JSON object", args.vars_file);
    for (auto& [k, v] : extra.items()) vars[k] = v;
  }

  const text::ChatTemplate tmpl = text::ChatTemplate::parse(std::move(source), name);
  text::RenderOptions options;
  if (!args.date.empty()) options.clock = parse_date(args.date);
  const std::string prompt = tmpl.render(vars, options);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto args = std::make_shared<TemplateArgs>();
  auto* cmd = app.add_subcommand(
      "template",
      "Render a conversation through a chat template and print the prompt text exactly (no newline added). "
      "The template is the GGUF MODEL's tokenizer.chat_template (a built-in format chosen from its metadata "
      "when it has none), a Jinja file (--template) or a built-in format (--builtin). Variables: messages "
      "(from --messages), add_generation_prompt=true, bos_token/eos_token (the model's BOS/EOS token text, "
      "else \"\"), then every key of a --messages object and of --vars, which override these defaults.");
  auto* model = cmd->add_option("model", args->model, "GGUF file whose tokenizer.chat_template to use (metadata only)")
                    ->check(CLI::ExistingFile);
  auto* file = cmd->add_option("-t,--template", args->template_file, "Jinja template file to use instead of a model")
                   ->check(CLI::ExistingFile)
                   ->excludes(model);
  cmd->add_option("--builtin", args->builtin,
                  "Use a built-in format: chatml, llama3, llama2, mistral, zephyr, phi3 or gemma")
      ->excludes(model)
      ->excludes(file);
  cmd->add_option("--template-name", args->template_name,
                  "Use the model's named template tokenizer.chat_template.NAME (e.g. tool_use)")
      ->needs(model);
  cmd->add_option("-m,--messages", args->messages_file,
                  "JSON file ('-' for stdin): an array of {role, content, ...} messages, or an object with a "
                  "\"messages\" array and any other variables (tools, documents...)")
      ->required();
  cmd->add_option("--vars", args->vars_file,
                  "JSON object file of variables to add or override (tools, add_generation_prompt, "
                  "enable_thinking, bos_token...)");
  cmd->add_option("--date", args->date,
                  "Pin the time strftime_now() formats: YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' (default: now)");
  cmd->callback([args] { run_template(*args); });
}

}  // namespace muse::cli
