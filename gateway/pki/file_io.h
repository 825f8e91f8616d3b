// File helpers for the pki commands: private files are created with mode 0600
// from the first byte, and replacing a file is atomic.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace gw::pki {

// FileMode selects the permission bits a new file is created with, before the
// process umask applies. Private files (keys, PKCS#12 bundles) get 0600 and
// public files (certificates, CRLs, the CA record) get 0644.
enum class FileMode { Private, Public };

// Overwrite selects what writeFile does when the path already exists.
enum class Overwrite { No, Yes };

// UniqueFd is an owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// joinPath returns |dir| + "/" + |name|, without doubling a trailing slash of
// |dir|. An empty |dir| returns |name|.
std::string joinPath(std::string_view dir, std::string_view name);

// pathExists returns whether |path| names an existing file, directory or
// symbolic link (a dangling link counts as existing).
bool pathExists(const std::string& path);

// writeFile writes |data| to |path| with the bits of |mode|, which the file has
// from its creation on (no chmod follows). With Overwrite::No it fails if the
// path exists, with a message ending "already exists". With Overwrite::Yes it
// writes a temporary file next to |path| and renames it over |path|, so
// readers see either the old or the new content. On failure, no partial file
// is left behind.
Status writeFile(const std::string& path, std::string_view data, FileMode mode,
                 Overwrite overwrite);

// readFile returns the content of |path|. It fails if the file cannot be read
// or is larger than |maxLen| bytes.
Result<std::string> readFile(const std::string& path, size_t maxLen = 16 << 20);

// createDirectory creates |path| and any missing parent with mode 0700. An
// existing directory is accepted as it is; an existing non-directory fails.
Status createDirectory(const std::string& path);

// removeFileIfExists unlinks |path|. A missing file is not an error.
Status removeFileIfExists(const std::string& path);

}  // namespace gw::pki
