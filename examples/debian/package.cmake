# The Debian package (docs/install.md): `cpack -G DEB` in a build directory
# makes imapd_<version>_<arch>.deb with the server, its configuration as a
# conffile, the systemd unit, the documentation, and maintainer scripts
# that create the imapd system user and /var/lib/imapd and start the
# service. Included from the top-level CMakeLists.txt.

include(GNUInstallDirs)

# Relative destinations land under the package's /usr; the configuration
# and the unit need their absolute Debian places.
install(FILES ${PROJECT_SOURCE_DIR}/examples/imapd.conf DESTINATION /etc/imapd RENAME imapd.toml)

# The example unit names a hand-installed binary and file; the package's
# are /usr/bin/imapd and /etc/imapd/imapd.toml.
file(READ ${PROJECT_SOURCE_DIR}/examples/imapd.service IMAPD_UNIT)
string(REPLACE "/usr/local/bin/imapd" "/usr/bin/imapd" IMAPD_UNIT "${IMAPD_UNIT}")
string(REPLACE "/etc/imapd/imapd.conf" "/etc/imapd/imapd.toml" IMAPD_UNIT "${IMAPD_UNIT}")
file(WRITE ${PROJECT_BINARY_DIR}/debian/imapd.service "${IMAPD_UNIT}")
install(FILES ${PROJECT_BINARY_DIR}/debian/imapd.service DESTINATION /lib/systemd/system)

file(GLOB IMAPD_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${IMAPD_DOCS} DESTINATION share/doc/imapd)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/imapd RENAME copyright)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME imapd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "imapd maintainers <imapd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "IMAP4rev1 mail server with a SQLite store")
set(CPACK_PACKAGE_DESCRIPTION
    "imapd serves mail over IMAP4rev1 (RFC 3501) with the extensions clients use\n(CONDSTORE, QRESYNC, IDLE, MOVE, SORT, THREAD, COMPRESS, ...), storing each\nuser's mail in one SQLite database. Mail arrives by `imapd deliver` or LMTP.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binary (dpkg-shlibdeps), plus what the
# maintainer scripts run.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "imap-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/examples/debian/conffiles
    ${PROJECT_SOURCE_DIR}/examples/debian/postinst
    ${PROJECT_SOURCE_DIR}/examples/debian/prerm
    ${PROJECT_SOURCE_DIR}/examples/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Debian ships binaries without their debug information.
set(CPACK_STRIP_FILES ON)
include(CPack)
