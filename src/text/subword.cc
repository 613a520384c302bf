#include "vane/text/subword.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

class VectorIterator final : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& v) : v_(v) { Skip(); }
  bool done() const override { return i_ >= v_.size(); }
  void Next() override {
    ++i_;
    Skip();
  }
  const std::string& value() const override { return cur_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void Skip() {  // normalised, non-empty texts only
    while (i_ < v_.size()) {
      cur_ = Normalize(v_[i_]);
      if (!cur_.empty()) return;
      ++i_;
    }
  }
  const std::vector<std::string>& v_;
  size_t i_ = 0;
  std::string cur_;
};

Status FromSp(const sentencepiece::util::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": " + s.ToString());
}

}  // namespace

SubwordTokenizer::SubwordTokenizer() = default;
SubwordTokenizer::~SubwordTokenizer() = default;
SubwordTokenizer::SubwordTokenizer(SubwordTokenizer&&) noexcept = default;
SubwordTokenizer& SubwordTokenizer::operator=(SubwordTokenizer&&) noexcept = default;

Result<SubwordTokenizer> SubwordTokenizer::Train(const std::vector<std::string>& texts, const Options& opt) {
  size_t nonempty = 0;
  for (const auto& t : texts) nonempty += !Normalize(t).empty();
  if (nonempty == 0) return Status::InvalidArgument("subword tokenizer: no text to train on");
  if (opt.vocab_size < 16) return Status::InvalidArgument("subword tokenizer: vocab_size must be at least 16");
  std::unordered_map<std::string, std::string> args = {
      {"vocab_size", std::to_string(opt.vocab_size)},
      {"model_type", opt.model_type},
      {"character_coverage", std::to_string(opt.character_coverage)},
      {"num_threads", std::to_string(opt.threads)},
      {"input_sentence_size", std::to_string(opt.max_sentences)},
      {"shuffle_input_sentence", "true"},
      {"hard_vocab_limit", "false"},  // small catalogues cannot fill a large vocabulary
      {"byte_fallback", "true"},      // unseen characters (rare CJK) become bytes, not <unk>
      {"split_digits", "true"},
      {"minloglevel", "2"},           // sentencepiece logs only errors
  };
  VectorIterator it(texts);
  SubwordTokenizer tok;
  std::string proto;
  VANE_RETURN_IF_ERROR(FromSp(sentencepiece::SentencePieceTrainer::Train(args, &it, &proto), "subword training"));
  tok.sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
  VANE_RETURN_IF_ERROR(FromSp(tok.sp_->LoadFromSerializedProto(proto), "subword model"));
  tok.proto_ = std::move(proto);
  return tok;
}

Result<SubwordTokenizer> SubwordTokenizer::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("subword model: cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  SubwordTokenizer tok;
  tok.sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
  VANE_RETURN_IF_ERROR(FromSp(tok.sp_->LoadFromSerializedProto(ss.str()), "subword model " + path));
  tok.proto_ = ss.str();
  return tok;
}

Status SubwordTokenizer::Save(const std::string& path) const {
  if (!sp_) return Status::FailedPrecondition("subword tokenizer: nothing to save");
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IoError("cannot write " + path);
  out.write(proto_.data(), static_cast<std::streamsize>(proto_.size()));
  if (!out) return Status::IoError("write failed: " + path);
  return Status::Ok();
}

std::vector<int> SubwordTokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  if (sp_) (void)sp_->Encode(Normalize(text), &ids);
  return ids;
}

std::vector<std::string> SubwordTokenizer::EncodePieces(std::string_view text) const {
  std::vector<std::string> pieces;
  if (sp_) (void)sp_->Encode(Normalize(text), &pieces);
  return pieces;
}

int SubwordTokenizer::vocab_size() const { return sp_ ? sp_->GetPieceSize() : 0; }
std::string SubwordTokenizer::Piece(int id) const { return sp_ ? sp_->IdToPiece(id) : std::string(); }
int SubwordTokenizer::unk_id() const { return sp_ ? sp_->unk_id() : 0; }

}  // namespace vane::text
