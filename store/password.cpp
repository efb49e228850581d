#include "store/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

static_assert(imap::store::kMaxPasswordBytes == CRYPT_MAX_PASSPHRASE_SIZE - 1);

namespace imap::store {
namespace {

// Schemes that verify (password.h). Matching on the prefix first keeps the
// legacy schemes libxcrypt still implements (a two-character DES salt turns
// any string into a "hash") from ever authenticating anyone.
constexpr std::array<std::string_view, 6> kSupportedPrefixes = {"$y$",  "$6$",  "$5$",
                                                                "$2b$", "$2a$", "$2y$"};

// A yescrypt hash, at libxcrypt's default cost ("j9T"), of a random password
// that was thrown away when this was generated. It matches nothing anyone
// can type; verify_login_password() spends one computation on it for unknown
// users. Keep its cost equal to the default or the timing difference returns.
constexpr std::string_view kDummyHash =
    "$y$j9T$n2m4.Jzw5kyq57xIV4L.j.$nruPsPlWzmuDgCmswS9cbscZzNeCpuf9dwwhmuBuOS5";

bool has_supported_prefix(std::string_view hash) {
    for (std::string_view prefix : kSupportedPrefixes) {
        if (hash.starts_with(prefix)) return true;
    }
    return false;
}

// crypt(3)'s own base64 alphabet, in which every supported checksum is
// written.
bool is_crypt_base64(std::string_view s) {
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '/';
        if (!ok) return false;
    }
    return true;
}

// The crypt_data work area (32 KiB: on the heap, so a small thread stack is
// never at risk) together with the NUL-terminated copies crypt_rn() needs.
// Everything is wiped in the destructor, whichever way the caller leaves.
class CryptScratch {
  public:
    CryptScratch(std::string_view password, std::string_view setting)
        : data_(std::make_unique<crypt_data>()), password_(password), setting_(setting) {}
    CryptScratch(const CryptScratch&) = delete;
    CryptScratch& operator=(const CryptScratch&) = delete;
    ~CryptScratch() {
        OPENSSL_cleanse(data_.get(), sizeof(crypt_data));
        wipe_string(password_);
        wipe_string(setting_);
    }

    // The hash, pointing into the work area (valid until destruction), or
    // nullptr: crypt_rn() never returns the "*0" failure tokens crypt() does.
    const char* run() {
        return crypt_rn(password_.c_str(), setting_.c_str(), data_.get(),
                        static_cast<int>(sizeof(crypt_data)));
    }

  private:
    std::unique_ptr<crypt_data> data_;  // value-initialised: zeroed
    std::string password_;
    std::string setting_;
};

bool password_acceptable(std::string_view password) {
    // crypt(3) takes a C string: a NUL would silently cut the password short.
    return password.size() <= kMaxPasswordBytes && password.find('\0') == std::string_view::npos;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // The lengths are not secret: they follow from the scheme, which the
    // stored hash shows in its prefix.
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The length of the setting part of a supported hash (everything before the
// checksum): up to the last '$', except bcrypt, whose 22-character salt and
// 31-character checksum are not separated ("$2b$05$" + salt + checksum).
std::size_t setting_length(std::string_view hash) {
    if (hash.starts_with("$2")) return std::string_view("$2b$05$").size() + 22;
    const std::size_t dollar = hash.rfind('$');
    return dollar == std::string_view::npos ? 0 : dollar + 1;
}

std::string_view detect_hash_method() {
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
    if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting.data(), static_cast<int>(setting.size()))) {
        return "$y$";
    }
    return "$6$";
}

}  // namespace

void wipe_string(std::string& s) noexcept {
    // Grow to the capacity so bytes past size() (a longer earlier value, or
    // the small-string buffer) are covered too; resize within the capacity
    // does not reallocate, so it cannot throw.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

std::string generate_password() {
    static constexpr std::string_view kAlphabet =
        "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::array<unsigned char, 20> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw PasswordError("RAND_bytes failed");
    }
    std::string password;
    for (unsigned char b : bytes)
        password += kAlphabet[b % kAlphabet.size()];
    return password;
}

std::string_view hash_method_in_use() {
    static const std::string_view method = detect_hash_method();
    return method;
}

std::string hash_password(std::string_view password, const PasswordHashing& hashing) {
    if (password.find('\0') != std::string_view::npos) {
        throw PasswordError("password contains a NUL byte");
    }
    if (password.size() > kMaxPasswordBytes) {
        throw PasswordError("password longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
    }
    const std::string prefix(hashing.prefix.empty() ? hash_method_in_use() : hashing.prefix);
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
    // Cost 0: the library's default, which libxcrypt raises as hardware gets
    // faster. nullptr entropy: crypt_gensalt_rn reads getrandom(2) itself.
    if (!crypt_gensalt_rn(prefix.c_str(), hashing.cost, nullptr, 0, setting.data(),
                          static_cast<int>(setting.size()))) {
        throw PasswordError("crypt_gensalt_rn(\"" + prefix + "\") failed: " + std::strerror(errno));
    }
    CryptScratch scratch(password, setting.data());
    const char* hash = scratch.run();
    if (!hash) throw PasswordError(std::string("crypt_rn failed: ") + std::strerror(errno));
    return hash;
}

bool verify_password(std::string_view password, std::string_view stored_hash) {
    if (!password_acceptable(password) || !has_supported_prefix(stored_hash) ||
        stored_hash.find('\0') != std::string_view::npos) {
        return false;
    }
    CryptScratch scratch(password, stored_hash);
    const char* computed = scratch.run();
    return computed && constant_time_equal(computed, stored_hash);
}

bool verify_login_password(std::string_view password, std::optional<std::string_view> stored_hash) {
    if (!stored_hash) {
        // The result is discarded: this call exists for its cost.
        (void)verify_password(password, kDummyHash);
        return false;
    }
    return verify_password(password, *stored_hash);
}

bool is_supported_hash(std::string_view stored_hash) {
    if (!has_supported_prefix(stored_hash) || stored_hash.find('\0') != std::string_view::npos) {
        return false;
    }
    const std::string hash(stored_hash);
    // LEGACY is fine here: libxcrypt calls SHA-256-crypt legacy, but the
    // prefix check above already decided which schemes this server accepts.
    const int salt_status = crypt_checksalt(hash.c_str());
    if (salt_status != CRYPT_SALT_OK && salt_status != CRYPT_SALT_METHOD_LEGACY) return false;
    const std::size_t setting_size = setting_length(stored_hash);
    if (setting_size == 0 || setting_size >= stored_hash.size()) return false;  // no checksum
    if (!is_crypt_base64(stored_hash.substr(setting_size))) return false;
    // Hashing any password with the stored hash as the setting yields the
    // same setting and a checksum of the scheme's length: anything else
    // (extra or missing characters, an unparsable cost) is malformed.
    CryptScratch scratch("", stored_hash);
    const char* computed = scratch.run();
    if (!computed) return false;
    const std::string_view result(computed);
    return result.size() == stored_hash.size() &&
           result.substr(0, setting_size) == stored_hash.substr(0, setting_size);
}

}  // namespace imap::store
