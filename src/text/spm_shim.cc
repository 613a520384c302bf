// A C interface over sentencepiece, built as a shared module that subword.cc opens with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND). Debian's libsentencepiece carries its own protobuf symbols, which clash with
// the libprotobuf libtorch loads; opened privately, sentencepiece binds to its own copies and nothing else sees them.
// Every function catches everything: no exception crosses the C boundary.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char* Dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

class ArrayIterator final : public sentencepiece::SentenceIterator {
 public:
  ArrayIterator(const char* const* texts, size_t n) : texts_(texts), n_(n) { Load(); }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    Load();
  }
  const std::string& value() const override { return cur_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void Load() {
    if (i_ < n_) cur_ = texts_[i_];
  }
  const char* const* texts_;
  size_t n_, i_ = 0;
  std::string cur_;
};

}  // namespace

extern "C" {

// Trains a model from `n` NUL-terminated texts with key=value arguments ("k1=v1\nk2=v2"). On success returns 0 and
// a malloc'ed serialized model in *proto (*proto_len bytes); otherwise non-zero and a malloc'ed message in *err.
__attribute__((visibility("default"))) int vane_spm_train(const char* const* texts, size_t n, const char* args,
                                                          char** proto, size_t* proto_len, char** err) {
  try {
    std::unordered_map<std::string, std::string> kw;
    std::string a(args);
    size_t p = 0;
    while (p < a.size()) {
      size_t e = a.find('\n', p);
      if (e == std::string::npos) e = a.size();
      std::string line = a.substr(p, e - p);
      size_t eq = line.find('=');
      if (eq != std::string::npos) kw[line.substr(0, eq)] = line.substr(eq + 1);
      p = e + 1;
    }
    ArrayIterator it(texts, n);
    std::string out;
    auto s = sentencepiece::SentencePieceTrainer::Train(kw, &it, &out);
    if (!s.ok()) {
      *err = Dup(s.ToString());
      return 1;
    }
    *proto = static_cast<char*>(std::malloc(out.size()));
    if (!*proto) {
      *err = Dup("out of memory");
      return 1;
    }
    std::memcpy(*proto, out.data(), out.size());
    *proto_len = out.size();
    return 0;
  } catch (const std::exception& ex) {
    *err = Dup(ex.what());
    return 1;
  }
}

__attribute__((visibility("default"))) void* vane_spm_load(const char* proto, size_t len, char** err) {
  try {
    auto* sp = new sentencepiece::SentencePieceProcessor();
    auto s = sp->LoadFromSerializedProto(std::string(proto, len));
    if (!s.ok()) {
      *err = Dup(s.ToString());
      delete sp;
      return nullptr;
    }
    return sp;
  } catch (const std::exception& ex) {
    *err = Dup(ex.what());
    return nullptr;
  }
}

__attribute__((visibility("default"))) void vane_spm_free(void* h) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(h);
}

__attribute__((visibility("default"))) void vane_spm_free_buf(void* p) { std::free(p); }

// Encodes text into ids; returns the count written (at most cap) or -1 on error; *total gets the full count.
__attribute__((visibility("default"))) int vane_spm_encode(void* h, const char* text, size_t len, int* ids, size_t cap,
                                                           size_t* total) {
  try {
    std::vector<int> v;
    if (!static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(std::string(text, len), &v).ok()) return -1;
    *total = v.size();
    size_t k = v.size() < cap ? v.size() : cap;
    for (size_t i = 0; i < k; ++i) ids[i] = v[i];
    return static_cast<int>(k);
  } catch (...) {
    return -1;
  }
}

__attribute__((visibility("default"))) int vane_spm_piece_size(void* h) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize();
}

// Copies the piece of `id` into buf (NUL-terminated, truncated to cap); returns its full length.
__attribute__((visibility("default"))) size_t vane_spm_id_to_piece(void* h, int id, char* buf, size_t cap) {
  const std::string& p = static_cast<sentencepiece::SentencePieceProcessor*>(h)->IdToPiece(id);
  if (cap > 0) {
    size_t k = p.size() < cap - 1 ? p.size() : cap - 1;
    std::memcpy(buf, p.data(), k);
    buf[k] = 0;
  }
  return p.size();
}

__attribute__((visibility("default"))) int vane_spm_unk_id(void* h) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(h)->unk_id();
}

}  // extern "C"
