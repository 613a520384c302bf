#include "vane/text/subword.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

// The C interface of libvane_spm.so (src/text/spm_shim.cc).
struct Api {
  int (*train)(const char* const*, size_t, const char*, char**, size_t*, char**) = nullptr;
  void* (*load)(const char*, size_t, char**) = nullptr;
  void (*free_model)(void*) = nullptr;
  void (*free_buf)(void*) = nullptr;
  int (*encode)(void*, const char*, size_t, int*, size_t, size_t*) = nullptr;
  int (*piece_size)(void*) = nullptr;
  size_t (*id_to_piece)(void*, int, char*, size_t) = nullptr;
  int (*unk_id)(void*) = nullptr;
  std::string error;
};

std::string ExeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

const Api& GetApi() {
  static Api api;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> paths;
    if (const char* env = std::getenv("VANE_SPM_SHIM")) paths.push_back(env);
#ifdef VANE_SPM_SHIM_PATH
    paths.push_back(VANE_SPM_SHIM_PATH);
#endif
    paths.push_back(ExeDir() + "/libvane_spm.so");
    void* lib = nullptr;
    std::string tried;
    for (const auto& p : paths) {
      lib = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (lib) break;
      tried += (tried.empty() ? "" : "; ") + p + ": " + dlerror();
    }
    if (!lib) {
      api.error = "subword tokenizer module not found (" + tried + ")";
      return;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && api.error.empty()) api.error = std::string("subword tokenizer module lacks ") + name;
    };
    sym(api.train, "vane_spm_train");
    sym(api.load, "vane_spm_load");
    sym(api.free_model, "vane_spm_free");
    sym(api.free_buf, "vane_spm_free_buf");
    sym(api.encode, "vane_spm_encode");
    sym(api.piece_size, "vane_spm_piece_size");
    sym(api.id_to_piece, "vane_spm_id_to_piece");
    sym(api.unk_id, "vane_spm_unk_id");
  });
  return api;
}

}  // namespace

struct SubwordTokenizer::Handle {
  void* model = nullptr;
  ~Handle() {
    if (model) GetApi().free_model(model);
  }
};

SubwordTokenizer::SubwordTokenizer() = default;
SubwordTokenizer::~SubwordTokenizer() = default;
SubwordTokenizer::SubwordTokenizer(SubwordTokenizer&&) noexcept = default;
SubwordTokenizer& SubwordTokenizer::operator=(SubwordTokenizer&&) noexcept = default;

Result<SubwordTokenizer> SubwordTokenizer::Train(const std::vector<std::string>& texts, const Options& opt) {
  const Api& api = GetApi();
  if (!api.error.empty()) return Status::FailedPrecondition(api.error);
  std::vector<std::string> norm;
  for (const auto& t : texts) {
    std::string n = Normalize(t);
    if (!n.empty()) norm.push_back(std::move(n));
  }
  if (norm.empty()) return Status::InvalidArgument("subword tokenizer: no text to train on");
  if (opt.vocab_size < 16) return Status::InvalidArgument("subword tokenizer: vocab_size must be at least 16");
  std::vector<const char*> ptrs;
  for (const auto& t : norm) ptrs.push_back(t.c_str());
  std::string args = "vocab_size=" + std::to_string(opt.vocab_size) + "\nmodel_type=" + opt.model_type +
                     "\ncharacter_coverage=" + std::to_string(opt.character_coverage) +
                     "\nnum_threads=" + std::to_string(opt.threads) +
                     "\ninput_sentence_size=" + std::to_string(opt.max_sentences) +
                     "\nshuffle_input_sentence=true"
                     "\nhard_vocab_limit=false"  // small catalogues cannot fill a large vocabulary
                     "\nbyte_fallback=true"      // unseen characters (rare CJK) become bytes, not <unk>
                     "\nsplit_digits=true"
                     "\nminloglevel=2";          // sentencepiece logs only errors
  char* proto = nullptr;
  size_t len = 0;
  char* err = nullptr;
  if (api.train(ptrs.data(), ptrs.size(), args.c_str(), &proto, &len, &err) != 0) {
    std::string msg = err ? err : "unknown error";
    api.free_buf(err);
    return Status::InvalidArgument("subword training: " + msg);
  }
  std::string serialized(proto, len);
  api.free_buf(proto);
  SubwordTokenizer tok;
  char* lerr = nullptr;
  void* m = api.load(serialized.data(), serialized.size(), &lerr);
  if (!m) {
    std::string msg = lerr ? lerr : "unknown error";
    api.free_buf(lerr);
    return Status::Internal("subword model: " + msg);
  }
  tok.h_ = std::make_unique<Handle>();
  tok.h_->model = m;
  tok.proto_ = std::move(serialized);
  return tok;
}

Result<SubwordTokenizer> SubwordTokenizer::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("subword model: cannot open " + path);
  const Api& api = GetApi();
  if (!api.error.empty()) return Status::FailedPrecondition(api.error);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string proto = ss.str();
  char* err = nullptr;
  void* m = api.load(proto.data(), proto.size(), &err);
  if (!m) {
    std::string msg = err ? err : "unknown error";
    api.free_buf(err);
    return Status::InvalidArgument("subword model " + path + ": " + msg);
  }
  SubwordTokenizer tok;
  tok.h_ = std::make_unique<Handle>();
  tok.h_->model = m;
  tok.proto_ = std::move(proto);
  return tok;
}

Status SubwordTokenizer::Save(const std::string& path) const {
  if (!h_) return Status::FailedPrecondition("subword tokenizer: nothing to save");
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  out.write(proto_.data(), static_cast<std::streamsize>(proto_.size()));
  if (!out) return Status::IoError("write failed: " + path);
  return Status::Ok();
}

std::vector<int> SubwordTokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  if (!h_) return ids;
  std::string norm = Normalize(text);
  ids.resize(64);
  size_t total = 0;
  int n = GetApi().encode(h_->model, norm.data(), norm.size(), ids.data(), ids.size(), &total);
  if (n < 0) return {};
  if (total > ids.size()) {
    ids.resize(total);
    n = GetApi().encode(h_->model, norm.data(), norm.size(), ids.data(), ids.size(), &total);
    if (n < 0) return {};
  }
  ids.resize(static_cast<size_t>(n));
  return ids;
}

std::vector<std::string> SubwordTokenizer::EncodePieces(std::string_view text) const {
  std::vector<std::string> out;
  for (int id : Encode(text)) out.push_back(Piece(id));
  return out;
}

int SubwordTokenizer::vocab_size() const { return h_ ? GetApi().piece_size(h_->model) : 0; }

std::string SubwordTokenizer::Piece(int id) const {
  if (!h_) return {};
  char buf[256];
  size_t n = GetApi().id_to_piece(h_->model, id, buf, sizeof(buf));
  if (n < sizeof(buf)) return std::string(buf, n);
  std::string big(n + 1, '\0');
  GetApi().id_to_piece(h_->model, id, big.data(), big.size());
  big.resize(n);
  return big;
}

int SubwordTokenizer::unk_id() const { return h_ ? GetApi().unk_id(h_->model) : 0; }

}  // namespace vane::text
