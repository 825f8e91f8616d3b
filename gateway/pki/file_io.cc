#include "gateway/pki/file_io.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

namespace gw::pki {
namespace {

std::string errnoText() {
  return strerror(errno);
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error{"cannot write " + path + ": " + errnoText()};
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    return Error{"cannot flush " + path + " to disk: " + errnoText()};
  }
  return okStatus();
}

mode_t permissionBits(FileMode mode) {
  return mode == FileMode::Private ? 0600 : 0644;
}

// createAndWrite creates |path| exclusively and writes |data| to it. A failed
// write removes the file again.
Status createAndWrite(const std::string& path, std::string_view data, FileMode mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   permissionBits(mode)));
  if (!fd.valid() && errno == EEXIST) {
    return Error{path + " already exists"};
  }
  if (!fd.valid()) {
    return Error{"cannot create " + path + ": " + errnoText()};
  }
  Status status = writeAll(fd.get(), data, path);
  if (!status.ok()) {
    unlink(path.c_str());
  }
  return status;
}

std::string temporaryPathFor(const std::string& path) {
  uint8_t random[8];
  RAND_bytes(random, sizeof(random));
  std::string suffix;
  for (uint8_t byte : random) {
    static constexpr char kHex[] = "0123456789abcdef";
    suffix += kHex[byte >> 4];
    suffix += kHex[byte & 0xf];
  }
  return path + ".tmp-" + suffix;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string joinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) {
    return std::string(name);
  }
  std::string path(dir);
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  if (path.back() != '/') {
    path += '/';
  }
  return path + std::string(name);
}

bool pathExists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

Status writeFile(const std::string& path, std::string_view data, FileMode mode,
                 Overwrite overwrite) {
  if (overwrite == Overwrite::No) {
    return createAndWrite(path, data, mode);
  }
  std::string temporary = temporaryPathFor(path);
  Status status = createAndWrite(temporary, data, mode);
  if (!status.ok()) {
    return status;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = errnoText();
    unlink(temporary.c_str());
    return Error{"cannot replace " + path + ": " + reason};
  }
  return okStatus();
}

Result<std::string> readFile(const std::string& path, size_t maxLen) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Error{"cannot read " + path + ": " + errnoText()};
  }
  std::string content;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error{"cannot read " + path + ": " + errnoText()};
    }
    if (n == 0) {
      return content;
    }
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > maxLen) {
      return Error{"cannot read " + path + ": larger than " + std::to_string(maxLen) + " bytes"};
    }
  }
}

Status createDirectory(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode)) {
      return Error{path + " exists but is not a directory"};
    }
    return okStatus();
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    Status parent = createDirectory(path.substr(0, slash));
    if (!parent.ok()) {
      return parent;
    }
  }
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{"cannot create directory " + path + ": " + errnoText()};
  }
  return okStatus();
}

Status removeFileIfExists(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error{"cannot remove " + path + ": " + errnoText()};
  }
  return okStatus();
}

}  // namespace gw::pki
