#include "store/scram.h"

#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "store/password.h"

namespace imap::store {
namespace {

const EVP_MD* digest_of(ScramHash hash) {
    return hash == ScramHash::Sha256 ? EVP_sha256() : EVP_sha1();
}

}  // namespace

std::string_view scram_hash_name(ScramHash hash) {
    return hash == ScramHash::Sha256 ? "SHA-256" : "SHA-1";
}

std::size_t scram_digest_size(ScramHash hash) {
    return hash == ScramHash::Sha256 ? 32 : 20;
}

std::optional<std::string> scram_normalize_password(std::string_view password) {
    if (password.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string input(password);
    char* output = nullptr;
    // Stored strings (the password is one) may hold no unassigned code
    // points (RFC 4013 2.5 via RFC 3454 7): no GSASL_ALLOW_UNASSIGNED.
    const int rc =
        gsasl_saslprep(input.c_str(), static_cast<Gsasl_saslprep_flags>(0), &output, nullptr);
    if (rc != GSASL_OK || output == nullptr) {
        gsasl_free(output);
        return std::nullopt;
    }
    std::string normalized(output);
    OPENSSL_cleanse(output, std::strlen(output));
    gsasl_free(output);
    if (normalized.empty()) return std::nullopt;
    return normalized;
}

std::string scram_hmac(ScramHash hash, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (HMAC(digest_of(hash), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
             &size) == nullptr) {
        throw std::runtime_error("HMAC failed");
    }
    return std::string(reinterpret_cast<const char*>(out), size);
}

std::string scram_digest(ScramHash hash, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out, &size, digest_of(hash), nullptr) != 1) {
        throw std::runtime_error("digest failed");
    }
    return std::string(reinterpret_cast<const char*>(out), size);
}

std::string random_bytes(std::size_t count) {
    std::string out(count, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return out;
}

std::optional<ScramCredentials> derive_scram_credentials(ScramHash hash, std::string_view password,
                                                         std::string_view salt,
                                                         std::uint32_t iterations) {
    std::optional<std::string> normalized = scram_normalize_password(password);
    if (!normalized) return std::nullopt;
    std::string salted(scram_digest_size(hash), '\0');
    const int ok = PKCS5_PBKDF2_HMAC(normalized->data(), static_cast<int>(normalized->size()),
                                     reinterpret_cast<const unsigned char*>(salt.data()),
                                     static_cast<int>(salt.size()), static_cast<int>(iterations),
                                     digest_of(hash), static_cast<int>(salted.size()),
                                     reinterpret_cast<unsigned char*>(salted.data()));
    wipe_string(*normalized);
    if (ok != 1) throw std::runtime_error("PBKDF2 failed");
    std::string client_key = scram_hmac(hash, salted, "Client Key");
    ScramCredentials credentials;
    credentials.salt = std::string(salt);
    credentials.iterations = iterations;
    credentials.stored_key = scram_digest(hash, client_key);
    credentials.server_key = scram_hmac(hash, salted, "Server Key");
    wipe_string(client_key);
    wipe_string(salted);
    return credentials;
}

std::optional<ScramCredentials> new_scram_credentials(ScramHash hash, std::string_view password,
                                                      std::uint32_t iterations) {
    return derive_scram_credentials(hash, password, random_bytes(kScramSaltBytes), iterations);
}

}  // namespace imap::store
