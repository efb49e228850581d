#include "server/net/certificate.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include "server/net/tls.h"

namespace imap::server {

namespace {

using ossl::BioPtr;
using ossl::EvpPkeyPtr;
using ossl::X509Ptr;

using BignumPtr = std::unique_ptr<BIGNUM, ossl::Deleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, ossl::Deleter<ASN1_INTEGER_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, ossl::Deleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, ossl::Deleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, ossl::Deleter<GENERAL_NAME_free>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, ossl::Deleter<ASN1_OCTET_STRING_free>>;
using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, ossl::Deleter<ASN1_IA5STRING_free>>;

[[noreturn]] void fail(const std::string& what) {
    throw CertificateError(what + ": " + ossl::take_errors());
}

void check(int ok, const char* what) {
    if (ok != 1) fail(what);
}

bool is_ip_literal(const std::string& host) {
    Asn1OctetStringPtr ip(a2i_IPADDRESS(host.c_str()));
    ERR_clear_error();
    return ip != nullptr;
}

// A DNS name we are willing to put in a certificate: LDH labels, an optional
// leading wildcard label. Anything else (commas, spaces, NULs) is refused
// instead of being passed on to clients that may parse it differently.
bool is_dns_name(const std::string& host) {
    if (host.empty() || host.size() > 253) return false;
    std::string_view rest = host;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    std::size_t label = 0;
    for (std::size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || rest[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (rest[i - 1] == '-' || rest[i - label] == '-') return false;
            label = 0;
            continue;
        }
        char c = rest[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
        ++label;
    }
    return true;
}

void add_dns(GENERAL_NAMES* names, const std::string& dns) {
    Asn1Ia5StringPtr value(ASN1_IA5STRING_new());
    if (!value || ASN1_STRING_set(value.get(), dns.data(), static_cast<int>(dns.size())) != 1)
        fail("cannot build subjectAltName");
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!name) fail("cannot build subjectAltName");
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, value.release());
    if (sk_GENERAL_NAME_push(names, name.get()) == 0) fail("cannot build subjectAltName");
    name.release();
}

void add_ip(GENERAL_NAMES* names, const std::string& ip) {
    Asn1OctetStringPtr value(a2i_IPADDRESS(ip.c_str()));
    if (!value) fail("cannot parse IP address '" + ip + "'");
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!name) fail("cannot build subjectAltName");
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, value.release());
    if (sk_GENERAL_NAME_push(names, name.get()) == 0) fail("cannot build subjectAltName");
    name.release();
}

// Fixed-text extensions; `ctx` carries the issuer and subject for the
// subjectKeyIdentifier hash.
void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
    if (!ext) fail(std::string("cannot build extension ") + OBJ_nid2sn(nid));
    check(X509_add_ext(cert, ext.get(), -1), "cannot add extension");
}

std::string bio_to_string(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

X509Ptr parse_first_certificate(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) fail("cannot allocate BIO");
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) fail("no PEM certificate found");
    return cert;
}

std::string read_small_file(const std::filesystem::path& path) {
    try {
        return ossl::read_pem_file(path, "generated certificate file");
    } catch (const TlsError& e) {
        throw CertificateError(e.what());
    }
}

}  // namespace

CertificatePem generate_self_signed(const SelfSignedOptions& options) {
    const std::string& host = options.hostname;
    bool host_is_ip = !host.empty() && is_ip_literal(host);
    if (!host.empty() && !host_is_ip && !is_dns_name(host))
        throw CertificateError("self-signed certificate: '" + host +
                               "' is neither a DNS name nor an IP address");
    if (options.validity_days <= 0)
        throw CertificateError("self-signed certificate: validity_days must be positive");

    ERR_clear_error();
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("cannot generate an EC P-256 key");

    X509Ptr cert(X509_new());
    if (!cert) fail("cannot allocate a certificate");
    check(X509_set_version(cert.get(), X509_VERSION_3), "cannot set version");

    // RFC 5280 4.1.2.2: positive, at most 20 octets. 159 random bits, top bit
    // clear, so two generated certificates never share issuer and serial
    // (browsers and NSS-based clients reject a reused pair).
    BignumPtr serial(BN_new());
    if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
        fail("cannot draw a serial number");
    Asn1IntegerPtr serial_asn1(BN_to_ASN1_INTEGER(serial.get(), nullptr));
    if (!serial_asn1) fail("cannot encode the serial number");
    check(X509_set_serialNumber(cert.get(), serial_asn1.get()), "cannot set serial");

    // An hour of slack for clients whose clock is a little behind.
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), options.validity_days, 0, nullptr))
        fail("cannot set the validity period");

    X509_NAME* name = X509_get_subject_name(cert.get());
    const std::string cn = host.empty() ? std::string("localhost") : host;
    auto add_name = [&](const char* field, const std::string& value) {
        check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                         -1, 0),
              "cannot set the subject name");
    };
    add_name("O", "imapd self-signed");
    add_name("CN", cn);
    check(X509_set_issuer_name(cert.get(), name), "cannot set the issuer name");
    check(X509_set_pubkey(cert.get(), key.get()), "cannot set the public key");

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");

    // Clients check the name against subjectAltName only (RFC 6125 6.4.4):
    // the CN alone would not do. Built as GENERAL_NAMEs rather than config
    // text so the configured hostname cannot inject more names.
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    if (!names) fail("cannot build subjectAltName");
    add_dns(names.get(), "localhost");
    add_ip(names.get(), "127.0.0.1");
    add_ip(names.get(), "::1");
    if (!host.empty() && host != "localhost" && host != "127.0.0.1" && host != "::1") {
        if (host_is_ip)
            add_ip(names.get(), host);
        else
            add_dns(names.get(), host);
    }
    check(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
          "cannot add subjectAltName");

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign the certificate");

    BioPtr cert_bio(BIO_new(BIO_s_mem()));
    BioPtr key_bio(BIO_new(BIO_s_mem()));
    if (!cert_bio || !key_bio) fail("cannot allocate BIO");
    check(PEM_write_bio_X509(cert_bio.get(), cert.get()), "cannot encode the certificate");
    // Unencrypted PKCS#8: the server must start unattended; the file mode
    // (0600) is the protection.
    check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
          "cannot encode the private key");
    return CertificatePem{bio_to_string(cert_bio.get()), bio_to_string(key_bio.get())};
}

std::string sha256_fingerprint(std::string_view certificate_pem) {
    ERR_clear_error();
    X509Ptr cert = parse_first_certificate(certificate_pem);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (X509_digest(cert.get(), EVP_sha256(), digest.data(), &length) != 1)
        fail("cannot compute the certificate fingerprint");
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(length * 3);
    for (unsigned int i = 0; i < length; ++i) {
        if (i != 0) out += ':';
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0x0f];
    }
    return out;
}

std::chrono::system_clock::time_point certificate_not_after(std::string_view certificate_pem) {
    ERR_clear_error();
    X509Ptr cert = parse_first_certificate(certificate_pem);
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1)
        fail("cannot read the certificate's notAfter");
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode) {
    auto sys_fail = [&](const std::string& what, int err) {
        throw CertificateError(what + " '" + path.string() + "': " + std::strerror(err));
    };
    std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
    // Appended, not "." + name: g++ 12's false -Wrestrict (protocol/parser.cpp).
    std::string hidden_name = ".";
    hidden_name += path.filename().string();
    hidden_name += ".XXXXXX";
    std::string temp = (dir / hidden_name).string();
    // mkstemp creates the file 0600, so a key is never readable by others,
    // not even between open and fchmod.
    int fd = mkstemp(temp.data());
    if (fd < 0) sys_fail("cannot create a temporary file for", errno);
    auto discard = [&](const std::string& what) {
        int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        sys_fail(what, err);
    };
    std::size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) discard("cannot write");
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) discard("cannot set the mode of");
    if (::fsync(fd) != 0) discard("cannot fsync");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        sys_fail("cannot close", err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        sys_fail("cannot rename a temporary file onto", err);
    }
    // The rename itself is durable only once the directory is synced.
    int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

SelfSignedResult load_or_generate_self_signed(const std::filesystem::path& data_dir,
                                              const SelfSignedOptions& options) {
    SelfSignedResult result;
    result.cert_path = data_dir / kSelfSignedCertFile;
    result.key_path = data_dir / kSelfSignedKeyFile;

    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
        throw CertificateError("cannot create data directory '" + data_dir.string() +
                               "': " + ec.message());

    bool have_cert = std::filesystem::exists(result.cert_path, ec);
    bool have_key = std::filesystem::exists(result.key_path, ec);
    if (have_cert && have_key) {
        CertificatePem pem{read_small_file(result.cert_path), read_small_file(result.key_path)};
        // Parse both and check they belong together; TlsContext's loader
        // gives errors that name each file.
        try {
            (void)TlsContext::from_pem(pem.chain_pem, pem.key_pem, result.cert_path.string(),
                                       result.key_path.string());
        } catch (const TlsError& e) {
            throw CertificateError(std::string(e.what()) +
                                   " (delete both files to generate a new certificate)");
        }
        auto expires = certificate_not_after(pem.chain_pem);
        X509Ptr cert = parse_first_certificate(pem.chain_pem);
        bool names_host = true;
        if (!options.hostname.empty()) {
            names_host =
                is_ip_literal(options.hostname)
                    ? X509_check_ip_asc(cert.get(), options.hostname.c_str(), 0) == 1
                    // Literal comparison: the configured name itself
                    // must be in the certificate, wildcard or not.
                    : X509_check_host(cert.get(), options.hostname.data(), options.hostname.size(),
                                      X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
        }
        if (expires - kSelfSignedRenewBefore <= std::chrono::system_clock::now()) {
            result.reason = "the previous one expires soon";
        } else if (!names_host) {
            result.reason = "the previous one does not name " + options.hostname;
        } else {
            result.fingerprint = sha256_fingerprint(pem.chain_pem);
            result.pem = std::move(pem);
            return result;
        }
    } else if (have_cert || have_key) {
        result.reason = "an earlier run was interrupted";
    } else {
        result.reason = "first run";
    }

    result.pem = generate_self_signed(options);
    result.generated = true;
    result.fingerprint = sha256_fingerprint(result.pem.chain_pem);
    // The certificate's presence means the pair is complete: remove an old
    // one, then write the key, then the certificate. A crash in between
    // leaves a lone key, which the next run regenerates.
    std::filesystem::remove(result.cert_path, ec);
    write_file_atomically(result.key_path, result.pem.key_pem, 0600);
    write_file_atomically(result.cert_path, result.pem.chain_pem, 0644);
    return result;
}

}  // namespace imap::server
