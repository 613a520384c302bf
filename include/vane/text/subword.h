// Subword tokenizer for item text and search queries, trained by vane on its own catalogue and query text
// (sentencepiece unigram model; handles English and Chinese without a dictionary). The behaviour model reads item
// and query text through it.
//
// Texts are normalised with text::Normalize before training and encoding, so "ＴＲＡＩＬ Shoes" and "trail shoes"
// encode alike. The model is a serialized sentencepiece ModelProto, stored as one file. sentencepiece types stay
// inside a small shared module (libvane_spm.so) that subword.cc opens privately (dlopen with RTLD_LOCAL |
// RTLD_DEEPBIND), because Debian's libsentencepiece carries protobuf symbols that clash with libtorch's protobuf;
// so the tokenizer and the model can live in one process. The module is found through $VANE_SPM_SHIM, the path
// recorded at build time, or beside the executable. Encode/Piece are const and thread-safe; Train/Load construct.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"

namespace vane::text {

class SubwordTokenizer {
 public:
  struct Options {
    int vocab_size = 8000;            // an upper bound: small corpora get fewer pieces (hard_vocab_limit off)
    std::string model_type = "unigram";
    double character_coverage = 0.9995;  // leaves the rarest characters to byte fallback / unknown
    int threads = 2;
    uint64_t max_sentences = 2000000;
  };

  SubwordTokenizer();
  ~SubwordTokenizer();
  SubwordTokenizer(SubwordTokenizer&&) noexcept;
  SubwordTokenizer& operator=(SubwordTokenizer&&) noexcept;

  // Trains on `texts` (titles, descriptions, tags, queries). Fails with InvalidArgument when there is no text.
  static Result<SubwordTokenizer> Train(const std::vector<std::string>& texts, const Options& opt);
  static Result<SubwordTokenizer> Load(const std::string& path);
  Status Save(const std::string& path) const;

  std::vector<int> Encode(std::string_view text) const;
  std::vector<std::string> EncodePieces(std::string_view text) const;
  int vocab_size() const;
  std::string Piece(int id) const;
  // Id of the unknown piece (0 in sentencepiece's default layout).
  int unk_id() const;

 private:
  struct Handle;
  std::unique_ptr<Handle> h_;
  std::string proto_;
};

}  // namespace vane::text
