#!/usr/bin/env bash
# Installs the Debian 12 packages imapd needs to build, run and test.
# Used by run.sh and test.sh; safe to run again (it installs only what is
# missing, and runs apt-get only then).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  libuv1-dev libssl-dev libsqlite3-dev libcrypt-dev zlib1g-dev
  # compressed message bodies (zstd)
  libzstd-dev
  # SASLprep (RFC 4013) for SCRAM credentials
  libgsasl-dev
  # the configuration file's TOML
  libtomlplusplus-dev
  # JSON log lines and the control socket (header only)
  nlohmann-json3-dev
  # i;unicode-casemap (RFC 5051) for SORT and THREAD
  libunistring-dev
  # tests: Catch2, clang with libFuzzer and the sanitizer runtimes, formatting
  catch2 clang libclang-rt-14-dev clang-format
  # tools the tests and the server use
  openssl sqlite3 python3
  # the group-commit test watches the server's fdatasync and write calls
  strace
  # real IMAP clients the end-to-end tests drive; dovecot-core for doveadm's
  # imapc migration test (no Dovecot service is started)
  curl isync offlineimap3 fetchmail getmail6 imapfilter dovecot-core
  # gsasl: a real SCRAM client (IMAP AUTHENTICATE SCRAM-SHA-*) for the e2e tests
  gsasl
)

# Node.js and npm for the imapflow tests: Debian's packages, unless a node
# with its own npm is already there (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps.sh: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
