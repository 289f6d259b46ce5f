// muse tokenize: shows the token ids a model's tokenizer makes of a text, exactly as the engine feeds
// them to the model (BOS/EOS per the file's metadata unless --no-bos; special-token text parsed only
// with --special). Only the tokenizer metadata of the GGUF file is read.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace muse::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool has_text = false;  // TEXT was given (it may be empty)
  std::string file;
  bool ids_only = false;
  bool no_bos = false;
  bool special = false;
};

std::string read_input(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kIOError, "cannot open --file '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(ErrorCode::kIOError, "cannot read --file '{}'", path);
  return ss.str();
}

// The piece with everything a terminal would hide or mangle escaped: \n \t \r \\ \' and \xNN for other
// control bytes and for bytes that are not (yet) valid UTF-8, such as one byte of a split character.
std::string escape_piece(const std::string& piece) {
  std::string out;
  const std::string valid = text::sanitize_utf8(piece);
  const bool whole = valid == piece;
  for (size_t i = 0; i < piece.size(); ++i) {
    const auto c = static_cast<unsigned char>(piece[i]);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      default:
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && !whole)) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void run_tokenize(const TokenizeArgs& args) {
  if (!args.has_text && args.file.empty()) fail(ErrorCode::kInvalidArgument, "give the TEXT to tokenize or --file");
  const std::string input = args.file.empty() ? args.text : read_input(args.file);
  gguf::OpenOptions options;
  options.mode = gguf::LoadMode::kMmap;  // only the metadata is needed: do not read the weights
  auto file = gguf::File::open(args.model, options);
  auto tok = text::Tokenizer::from_gguf(*file);
  for (const std::string& w : tok->warnings()) {
    std::fprintf(stderr, "muse: warning: %s: %s\n", args.model.c_str(), w.c_str());
  }

  const auto ids = tok->encode(input, /*add_special=*/!args.no_bos, /*parse_special=*/args.special);
  std::string out;
  if (args.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? " " : "", ids[i]);
    out += '\n';
  } else {
    for (int32_t id : ids) out += fmt::format("{}\t'{}'\n", id, escape_piece(tok->token_to_piece(id)));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Print the tokens a model makes of a text, as the engine sees them: one 'id<TAB>'piece'' line per "
      "token (newline, tab, quote, backslash and bytes of unfinished UTF-8 characters escaped), or the ids "
      "alone with --ids. BOS/EOS are added as the model's metadata says unless --no-bos; control-token text "
      "such as <|im_start|> is only recognised with --special (user-defined added tokens always are).");
  cmd->add_option("model", args->model, "GGUF file whose tokenizer to use (only its metadata is read)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* text = cmd->add_option("text", args->text, "Text to tokenize (or use --file)");
  cmd->add_option("-f,--file", args->file, "Read the text from this file, byte for byte ('-' for stdin)")
      ->excludes(text);
  cmd->add_flag("--ids", args->ids_only, "Print only the ids, space-separated, on one line");
  cmd->add_flag("--no-bos", args->no_bos, "Do not add the BOS/EOS tokens the model's metadata asks for");
  cmd->add_flag("--special", args->special, "Recognise control-token text (<|im_start|>, </s>, ...) in the input");
  cmd->callback([args, text] {
    args->has_text = text->count() > 0;
    run_tokenize(*args);
  });
}

}  // namespace muse::cli
