#!/usr/bin/env python3
"""A throwaway Dovecot (Debian's dovecot-imapd) for benchmarks.

Standard library only. One instance lives entirely under a directory of
its own: configuration, passwd-file, base_dir (sockets, master.pid), state,
log, and the user's home with its Maildir. It listens on 127.0.0.1:PORT
(plain IMAP, ssl=no, plaintext LOGIN allowed) and nowhere else.

    d = Dovecot(root_dir, user="bench", password="pw")
    d.prepare()                 # directories, dovecot.conf, passwd-file
    ... write Maildir files under d.maildir() (see maildir_folder()) ...
    d.fix_ownership()           # when root: hand the home over to the mail uid
    d.start()                   # waits for the port
    d.imap_pids()               # the `dovecot/imap` workers of this instance
    d.stop()                    # SIGTERM to the master, waits for it

Users and ownership: Dovecot refuses to run mail processes as root. When
the benchmark runs as a normal user, the mail processes run as that user
(and so do the login and internal services). When it runs as root, the
mail processes run as MAIL_UID:MAIL_GID (default 5000:5000, need not exist
in /etc/passwd; first/last_valid_uid are pinned to it) and the home
directory is chown'ed to it by fix_ownership(); the login and internal
services keep Debian's dovenull and dovecot users.

Run as a script to try it by hand:  dovecot.py DIR [PORT]
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

WAIT = 15  # seconds: bound on starting and stopping


def ensure_installed():
    """Installs Debian's dovecot-imapd when it is missing (root only).
    `dovecot` alone is not enough: the test suite installs dovecot-core (for
    doveadm), which has the master binary but not the imap service."""
    if shutil.which("dovecot") and os.path.exists("/usr/lib/dovecot/imap"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("dovecot is not installed; run: apt-get install -y dovecot-imapd")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-imapd"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    # The package starts the system-wide service; we do not need it (it
    # binds 143/993), but leave it alone: it is not ours to stop.


def free_port():
    """A port the kernel says is free on 127.0.0.1 (Dovecot cannot report
    the port it bound, so we choose one; the race is harmless here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version():
    out = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def proc_status_kb(pid, field):
    """A `kB` field of /proc/PID/status (VmHWM, VmRSS), or 0 if gone."""
    for line in _read("/proc/%d/status" % pid).split(b"\n"):
        if line.startswith(field.encode() + b":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0, clear_refs "5").
    Returns False when not allowed (another user's process)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Dovecot:
    def __init__(self, root, port=None, user="bench", password="pw", mail_uid=5000,
                 mail_gid=5000):
        ensure_installed()
        self.root = os.path.abspath(root)
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.uid, self.gid = mail_uid, mail_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.conf = os.path.join(self.root, "dovecot.conf")
        self.log_path = os.path.join(self.root, "log", "dovecot.log")
        self.master_pid = None

    # -- layout ---------------------------------------------------------
    def home(self):
        return os.path.join(self.root, "home", self.user)

    def maildir(self):
        return os.path.join(self.home(), "Maildir")

    def maildir_folder(self, name=None):
        """The Maildir(++) directory for mailbox `name` (None: INBOX), with
        cur/ new/ tmp/ created. Subfolders are `.Name` (separator `.` on
        disk, `/` to clients)."""
        path = self.maildir() if name is None else os.path.join(self.maildir(), "." + name)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        return path

    def prepare(self):
        for sub in ("run", "state", "log", "home"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        # The mail uid must be able to reach its home through every parent.
        # Only directories inside the temporary directory (ours, made by
        # mkdtemp with mode 0700) are opened up; any other closed parent is
        # an error rather than a chmod behind the user's back.
        os.chmod(self.root, 0o755)
        tmp = os.path.realpath(tempfile.gettempdir())
        path = os.path.dirname(self.root)
        while path != os.path.dirname(path):
            st = os.stat(path)
            if st.st_mode & 0o001 == 0:
                if path.startswith(tmp + os.sep) and st.st_uid == os.geteuid():
                    os.chmod(path, st.st_mode | 0o711)
                elif self.as_root:
                    raise RuntimeError("%s is not searchable by uid %d; put the benchmark's "
                                       "work directory elsewhere (--work-dir)" % (path, self.uid))
            path = os.path.dirname(path)
        os.chmod(os.path.join(self.root, "home"), 0o755)
        self.maildir_folder(None)
        users = os.path.join(self.root, "users")
        with open(users, "w") as f:
            f.write("%s:{PLAIN}%s\n" % (self.user, self.password))
        with open(self.conf, "w") as f:
            f.write(self._config(users))

    def _config(self, users):
        r = self.root
        lines = [
            "base_dir = %s/run" % r,
            "state_dir = %s/state" % r,
            "instance_name = %s" % self.instance_name(),
            "protocols = imap",
            "listen = 127.0.0.1",
            "ssl = no",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "log_path = %s" % self.log_path,
            "passdb {",
            "  driver = passwd-file",
            "  args = scheme=PLAIN username_format=%%u %s" % users,
            "}",
            "userdb {",
            "  driver = static",
            "  args = uid=%d gid=%d home=%s/home/%%u" % (self.uid, self.gid, r),
            "}",
            "mail_location = maildir:~/Maildir",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
            "  prefix =",
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            "    port = %d" % self.port,
            "  }",
            "  inet_listener imaps {",
            "    port = 0",
            "  }",
            "}",
        ]
        if self.as_root:
            lines += [
                "first_valid_uid = %d" % self.uid,
                "last_valid_uid = %d" % self.uid,
                "first_valid_gid = %d" % self.gid,
                "last_valid_gid = %d" % self.gid,
            ]
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            lines += [
                "default_login_user = %s" % me,
                "default_internal_user = %s" % me,
                "first_valid_uid = %d" % self.uid,
                "first_valid_gid = %d" % self.gid,
            ]
        return "\n".join(lines) + "\n"

    def instance_name(self):
        return "imapd-bench-%d" % self.port

    def fix_ownership(self):
        """When root: gives the home (and everything written in it) to the
        mail uid. A no-op otherwise."""
        if not self.as_root:
            return
        os.chown(self.home(), self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(self.home()):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), self.uid, self.gid)

    # -- process --------------------------------------------------------
    def start(self):
        if not os.path.exists(self.conf):
            self.prepare()
        if os.path.exists(self.home()) and self.as_root:
            os.chown(self.home(), self.uid, self.gid)
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        deadline = time.monotonic() + WAIT
        pid_path = os.path.join(self.root, "run", "master.pid")
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.recv(100)  # the greeting
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("dovecot did not start on 127.0.0.1:%d; log:\n%s" %
                                       (self.port, self.log()))
                time.sleep(0.05)
        self.master_pid = int(_read(pid_path).strip())

    def stop(self):
        if self.master_pid is None:
            return
        pid, self.master_pid = self.master_pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + WAIT
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            # Not our child (dovecot daemonises): poll /proc. A zombie
            # cannot stay: its parent (init) reaps it.
            if b"State:\tZ" in _read("/proc/%d/status" % pid):
                break
            time.sleep(0.05)
        if os.path.exists("/proc/%d" % pid) and b"State:\tZ" not in _read("/proc/%d/status" % pid):
            os.kill(pid, signal.SIGKILL)

    def log(self):
        return _read(self.log_path).decode(errors="replace")

    def imap_pids(self):
        """The `imap` worker processes of this instance (children of
        its master; not imap-login), one per open IMAP connection."""
        if self.master_pid is None:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _read("/proc/%s/stat" % entry)
            if not stat:
                continue
            # pid (comm) state ppid ...: comm may hold spaces; split after ")".
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) < 2 or int(fields[1]) != self.master_pid:
                continue
            cmdline = _read("/proc/%s/cmdline" % entry)
            name = cmdline.split(b"\0")[0].split(b" ")[0]
            # The title is "dovecot/imap", or "dovecot-INSTANCE_NAME/imap"
            # with instance_name set (as here); never imap-login.
            if name.endswith(b"/imap"):
                pids.append(int(entry))
        return pids


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: dovecot.py DIR [PORT]   (starts; stop with kill -TERM $(cat DIR/run/master.pid))")
    d = Dovecot(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) > 2 else None)
    d.prepare()
    d.fix_ownership()
    d.start()
    print("dovecot on 127.0.0.1:%d, user %s password %s, master pid %d" %
          (d.port, d.user, d.password, d.master_pid))
