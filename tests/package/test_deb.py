#!/usr/bin/env python3
"""The Debian package (docs/install.md): `cpack -G DEB` in the build directory
makes imapd_<version>_<arch>.deb, and its control data and contents are what
docs/install.md promises: the binary, the configuration as a conffile (valid
TOML, checked by the packaged binary itself), the systemd unit pointing at
both, the documentation with the licence as copyright, library dependencies
from dpkg-shlibdeps, and maintainer scripts that parse. lintian runs too when
it is installed. Nothing is installed on this machine.

Usage: test_deb.py BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = ""


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory(prefix="imapd-deb-")
        made = run(["cpack", "-G", "DEB", "-B", cls.work.name], cwd=BUILD)
        if made.returncode != 0:
            raise AssertionError("cpack failed:\n" + made.stdout + made.stderr)
        debs = [f for f in os.listdir(cls.work.name) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.work.name, debs[0])
        cls.root = os.path.join(cls.work.name, "root")
        cls.control = os.path.join(cls.work.name, "control")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def field(self, name):
        return run(["dpkg-deb", "--field", self.deb, name]).stdout.strip()

    def test_name_and_control_fields(self):
        self.assertRegex(os.path.basename(self.deb), r"^imapd_\d+\.\d+\.\d+_[a-z0-9]+\.deb$")
        self.assertEqual(self.field("Package"), "imapd")
        self.assertEqual(self.field("Section"), "mail")
        depends = self.field("Depends")
        for library in ("adduser", "libuv1", "libsqlite3-0", "libssl3", "libtomlplusplus3"):
            self.assertIn(library, depends)

    def test_contents(self):
        listing = run(["dpkg-deb", "--contents", self.deb]).stdout
        paths = {line.split()[-1] for line in listing.splitlines()}
        for path in ("./usr/bin/imapd", "./etc/imapd/imapd.toml",
                     "./lib/systemd/system/imapd.service",
                     "./usr/share/doc/imapd/copyright", "./usr/share/doc/imapd/configuration.md",
                     "./usr/share/doc/imapd/README.md"):
            self.assertIn(path, paths)
        # Stripped: no debug sections in the packaged binary.
        sections = run(["readelf", "-S", os.path.join(self.root, "usr/bin/imapd")]).stdout
        self.assertNotIn(".debug_info", sections)

    def test_configuration_is_a_conffile_and_valid_toml(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/imapd/imapd.toml"])
        binary = os.path.join(self.root, "usr/bin/imapd")
        config = os.path.join(self.root, "etc/imapd/imapd.toml")
        self.assertRegex(run([binary, "--version"]).stdout, r"^imapd \d")
        checked = run([binary, "check-config", "--config", config])
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(checked.stderr, "")  # TOML, not the old format

    def test_unit_runs_the_packaged_binary_on_the_packaged_configuration(self):
        with open(os.path.join(self.root, "lib/systemd/system/imapd.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/bin/imapd serve --config /etc/imapd/imapd.toml\n", unit)
        self.assertIn("\nUser=imapd\n", unit)
        self.assertIn("\nReadWritePaths=/var/lib/imapd\n", unit)

    def test_maintainer_scripts(self):
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            self.assertEqual(run(["sh", "-n", path]).returncode, 0, script)
        with open(os.path.join(self.control, "postinst")) as f:
            postinst = f.read()
        self.assertIn("adduser --system", postinst)
        self.assertIn("/var/lib/imapd", postinst)

    @unittest.skipUnless(shutil.which("lintian"), "lintian is not installed")
    def test_lintian_finds_no_errors(self):
        checked = run(["lintian", "--fail-on", "error", self.deb])
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1)
    unittest.main()
