// Pre-trained word vectors in the common text format (GloVe, word2vec text, fastText .vec): one word per line
// followed by its values, separated by spaces; an optional first line "<count> <dim>" (word2vec / fastText).
//
// Only the words a caller asks for are kept, so a multi-gigabyte file costs one pass and little memory. Malformed
// lines are errors that name the line, the field and the reason (a vector file is configuration, not user data:
// a silently half-read file would be worse than none).
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vane/core/status.h"

namespace vane::text {

struct WordVectors {
  int dim = 0;
  size_t lines = 0;                                        // vectors read (header excluded)
  std::unordered_map<std::string, std::vector<float>> vectors;  // the wanted words found
};

// `wanted(word)` says whether to keep a word's vector. Fails with InvalidArgument on a malformed line and with
// IoError when the file cannot be read.
Result<WordVectors> LoadWordVectors(const std::string& path, const std::function<bool(const std::string&)>& wanted);

}  // namespace vane::text
