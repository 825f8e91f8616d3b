// TempDir: a fresh directory under the system temp directory for one test,
// removed with everything in it when the TempDir goes out of scope.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

namespace gw::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::random_device random;
    std::string name = "certgate-unit-" + std::to_string(getpid()) + "-" +
                       std::to_string(counter++) + "-" + std::to_string(random());
    path_ = std::filesystem::temp_directory_path() / name;
    // create_directory returns false when the name already exists, which
    // would mean sharing files with another run.
    if (!std::filesystem::create_directory(path_)) {
      throw std::runtime_error("temp directory already exists: " + path_.string());
    }
  }

  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // file returns the path of |name| inside the directory without creating it.
  std::string file(std::string_view name) const { return (path_ / name).string(); }

  // write creates or replaces |name| with |contents| and returns its path.
  std::string write(std::string_view name, std::string_view contents) const {
    std::filesystem::path file_path = path_ / name;
    std::filesystem::create_directories(file_path.parent_path());
    std::ofstream out(file_path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) {
      throw std::runtime_error("failed to write " + file_path.string());
    }
    return file_path.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace gw::testing
