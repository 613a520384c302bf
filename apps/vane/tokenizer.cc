// vane tokenizer: trains the subword tokenizer on item text and search queries and shows a few encodings.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "vane/model/pipeline.h"
#include "vane/text/subword.h"

namespace vane::cli {

namespace {

struct TokenizerArgs {
  DataFlags data;
  std::string out = "data/subword.model";
  text::SubwordTokenizer::Options opt;
  std::vector<std::string> samples;
};

int RunTokenizer(const TokenizerArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  std::vector<std::string> texts = SubwordCorpus(ds);
  auto tok = text::SubwordTokenizer::Train(texts, a.opt);
  if (!tok.ok()) return Fail(tok.status());
  if (Status w = tok->Save(a.out); !w.ok()) return Fail(w);
  std::cout << fmt::format("trained on {} texts: {} pieces, written to {}\n", texts.size(), tok->vocab_size(), a.out);
  std::vector<std::string> samples = a.samples;
  if (samples.empty()) samples = {"trail running shoes", "越野跑鞋 推荐"};
  for (const auto& t : samples) {
    std::cout << "  " << t << " ->";
    for (const auto& p : tok->EncodePieces(t)) std::cout << " [" << p << "]";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

Command AddTokenizerCommand(CLI::App& app) {
  auto a = std::make_shared<TokenizerArgs>();
  CLI::App* cmd = app.add_subcommand("tokenizer", "train the subword tokenizer on item text and search queries");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--out", a->out, "model file to write")->capture_default_str();
  cmd->add_option("--vocab-size", a->opt.vocab_size, "upper bound on the vocabulary")->capture_default_str();
  cmd->add_option("--show", a->samples, "texts to encode and print after training");
  return {cmd, [a] { return RunTokenizer(*a); }};
}

}  // namespace vane::cli
