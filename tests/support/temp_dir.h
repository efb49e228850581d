// A fresh, private temporary directory (mkdtemp), removed with the object:
// unique per use, so tests running in parallel never share one.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace imap::test {

struct UniqueTempDir {
    std::filesystem::path path;
    explicit UniqueTempDir(const std::string& prefix) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~UniqueTempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    UniqueTempDir(const UniqueTempDir&) = delete;
    UniqueTempDir& operator=(const UniqueTempDir&) = delete;
};

}  // namespace imap::test
