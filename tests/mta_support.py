"""Debian's Postfix and Exim as throw-away loopback instances that relay to ``smtpdsn serve``.

Installing: Postfix is installed with apt (debconf "No configuration": nothing is set up or
started). Exim's Debian package conflicts with Postfix (both provide mail-transport-agent),
so ``exim4-daemon-light`` is fetched with ``apt-get download`` and unpacked with ``dpkg -x``
into a cache folder (:func:`cache_dir`, ``/var/cache/smtpdsn-tests`` for root); only the
libraries it links against that are missing are installed, and the system user
``Debian-exim`` its binary looks up is created. ``.ci/run`` does this before the tests with
``python3 -m tests.mta_support``; the tests do it themselves when run as root.

Running: each MTA gets a folder of its own (configuration, queue or spool, logs, and the
Maildir of the sender's domain, where it writes its bounces), listens for submissions on a
free 127.0.0.1 port, routes every other domain to ``127.0.0.1:PORT`` without DNS, and is
stopped with its own stop command or by PID. A system instance is never touched.

This module imports only the standard library, so ``.ci/run`` can use it before the
package is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import selectors
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serve_process import free_port, wait_until

__all__ = [
    "DEST_DOMAIN",
    "EXIM_USER",
    "SENDER_DOMAIN",
    "Conversation",
    "Exim",
    "MTAUnavailable",
    "Outgoing",
    "Postfix",
    "RecordDSNPlugin",
    "RecordingProxy",
    "ensure_exim",
    "ensure_postfix",
    "maildir_messages",
    "original_recipient",
    "submit",
]

#: The sender's domain: local to the MTA, which stores its bounces in a Maildir.
SENDER_DOMAIN = "sender.test"
#: The recipients' domain: relayed to smtpdsn.
DEST_DOMAIN = "dest.test"
EXIM_USER = "Debian-exim"
EXIM_PACKAGE = "exim4-daemon-light"
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
NOBODY = 65534


class MTAUnavailable(Exception):
    """The MTA cannot be had here; the message says why (the tests skip with it)."""


def _run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=600, env=APT_ENV, **kwargs
    )


def _require_root_and_apt(what: str) -> None:
    if os.geteuid() != 0:
        raise MTAUnavailable(f"{what} needs root (to install it and to start its daemon)")
    if shutil.which("apt-get") is None:
        raise MTAUnavailable(f"{what} is installed from Debian's packages; apt-get is missing")


def _apt_install(packages: Sequence[str]) -> None:
    """``apt-get install`` (no recommends); ``apt-get update`` and retry once on failure."""
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    done = _run(command)
    if done.returncode != 0:
        _run(["apt-get", "update", "-q"])
        done = _run(command)
    if done.returncode != 0:
        raise MTAUnavailable(
            f"apt-get install {' '.join(packages)} failed: {done.stderr.strip()[-500:]}"
        )


# ---------------------------------------------------------------------------------------------
# Installing


def postfix_binary() -> str | None:
    """The path of the ``postfix`` command, or None."""
    return shutil.which("postfix") or (
        "/usr/sbin/postfix" if Path("/usr/sbin/postfix").exists() else None
    )


def ensure_postfix() -> str:
    """Find Postfix, installing Debian's package when missing. Returns the ``postfix`` path.

    Raises:
        MTAUnavailable: not root, no apt, or the package cannot be installed.
    """
    found = postfix_binary()
    if found is None:
        _require_root_and_apt("Postfix")
        selection = "postfix postfix/main_mailer_type select No configuration\n"
        subprocess.run(["debconf-set-selections"], input=selection, text=True, check=False)
        _apt_install(["postfix"])
        found = postfix_binary()
        if found is None:
            raise MTAUnavailable("the postfix package installed no postfix command")
    if os.geteuid() != 0:
        raise MTAUnavailable("Postfix's master daemon needs root to start")
    return found


def cache_dir() -> Path:
    """Where Exim's unpacked package is kept between runs: ``$SMTPDSN_MTA_CACHE``, else
    ``/var/cache/smtpdsn-tests`` for root (Exim's delivery processes, which run as
    ``Debian-exim``, must reach the binary to re-execute it), else ``~/.cache/smtpdsn-tests``."""
    explicit = os.environ.get("SMTPDSN_MTA_CACHE")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/cache/smtpdsn-tests")
    return Path.home() / ".cache" / "smtpdsn-tests"


def exim_binary() -> Path:
    """Where the unpacked Exim binary lives (it may not be there yet)."""
    return cache_dir() / "exim" / "usr" / "sbin" / "exim4"


def _missing_libraries(binary: Path) -> list[str]:
    done = _run(["ldd", str(binary)])
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


def _installed(package: str) -> bool:
    done = _run(["dpkg-query", "-W", "-f=${Status}", package])
    return done.returncode == 0 and done.stdout.endswith(" installed")


def ensure_exim() -> Path:
    """Find the unpacked Exim, downloading and unpacking it when missing; returns the binary.

    Also installs the libraries it links against that are missing, and creates the system
    user ``Debian-exim``.

    Raises:
        MTAUnavailable: not root, no apt, or the package cannot be had.
    """
    binary = exim_binary()
    debs = cache_dir() / "debs"
    if not binary.exists():
        _require_root_and_apt("Exim")
        debs.mkdir(parents=True, exist_ok=True)
        for old in debs.glob("*.deb"):
            old.unlink()
        done = _run(["apt-get", "download", EXIM_PACKAGE], cwd=debs)
        if done.returncode != 0:
            _run(["apt-get", "update", "-q"])
            done = _run(["apt-get", "download", EXIM_PACKAGE], cwd=debs)
        found = sorted(debs.glob(f"{EXIM_PACKAGE}_*.deb"))
        if done.returncode != 0 or not found:
            raise MTAUnavailable(f"apt-get download {EXIM_PACKAGE} failed: {done.stderr[-500:]}")
        unpacked = cache_dir() / "exim.partial"
        shutil.rmtree(unpacked, ignore_errors=True)
        done = _run(["dpkg", "-x", str(found[-1]), str(unpacked)])
        if done.returncode != 0:
            raise MTAUnavailable(f"dpkg -x {found[-1].name} failed: {done.stderr[-500:]}")
        shutil.rmtree(cache_dir() / "exim", ignore_errors=True)
        unpacked.rename(cache_dir() / "exim")
    if os.geteuid() != 0:
        raise MTAUnavailable("Exim needs root here (its setuid binary is unpacked, not installed)")
    if _missing_libraries(binary):
        found = sorted(debs.glob(f"{EXIM_PACKAGE}_*.deb"))
        if not found:
            raise MTAUnavailable(f"Exim lacks {_missing_libraries(binary)} and its .deb is gone")
        depends = _run(["dpkg-deb", "-f", str(found[-1]), "Depends"]).stdout
        wanted = [
            alternative.split()[0]
            for field in depends.split(",")
            for alternative in field.split("|")[:1]
            if alternative.strip().startswith("lib")
        ]
        missing = [package for package in wanted if not _installed(package)]
        if missing:
            _apt_install(missing)
        if _missing_libraries(binary):
            raise MTAUnavailable(f"Exim still lacks the libraries {_missing_libraries(binary)}")
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        done = _run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", EXIM_USER]
        )  # fmt: skip
        if done.returncode != 0:
            raise MTAUnavailable(f"cannot create the user {EXIM_USER}: {done.stderr}") from None
    return binary


# ---------------------------------------------------------------------------------------------
# What the tests send and find


@dataclass(frozen=True)
class Outgoing:
    """One message submitted to an MTA: its Message-ID and recipients."""

    message_id: str
    recipients: tuple[str, ...]
    envid: str

    def content(self) -> bytes:
        lines = [
            f"From: Sender <s@{SENDER_DOMAIN}>",
            f"To: {', '.join(self.recipients)}",
            f"Subject: relay test {self.message_id}",
            f"Message-ID: {self.message_id}",
            "",
            *(f"line {n} of {self.message_id}" for n in range(40)),
            ".starts with a dot, so the MTA must stuff it",
            "",
        ]
        return "\r\n".join(lines).encode("ascii")


def original_recipient(address: str) -> str:
    """The ORCPT address :func:`submit` gives ``address``: ``orig-`` before its local part."""
    return f"orig-{address}"


def submit(port: int, messages: Sequence[Outgoing]) -> None:
    """Submit ``messages`` to the MTA's smtpd over one connection, with DSN parameters.

    MAIL: ``RET=HDRS ENVID=<envid>``; RCPT: ``NOTIFY=FAILURE,DELAY
    ORCPT=rfc822;orig-<address>``.
    """
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("client.test")
        assert client.has_extn("dsn"), f"the MTA does not offer DSN: {client.esmtp_features}"
        for message in messages:
            reply = client.mail(f"s@{SENDER_DOMAIN}", ["RET=HDRS", f"ENVID={message.envid}"])
            assert reply[0] == 250, f"MAIL: {reply}"
            for rcpt in message.recipients:
                options = ["NOTIFY=FAILURE,DELAY", f"ORCPT=rfc822;{original_recipient(rcpt)}"]
                reply = client.rcpt(rcpt, options)
                assert reply[0] == 250, f"RCPT {rcpt}: {reply}"
            reply = client.data(message.content())
            assert reply[0] == 250, f"DATA: {reply}"


def maildir_messages(maildir: Path) -> list[bytes]:
    """Every message in ``maildir/new`` and ``maildir/cur``."""
    return [
        path.read_bytes()
        for sub in ("new", "cur")
        if (maildir / sub).is_dir()
        for path in sorted((maildir / sub).iterdir())
    ]


class RecordDSNPlugin:
    """An ``smtpdsn serve --plugin``: appends each MAIL and RCPT with its DSN parameters as a
    JSON line to the file named by ``$SMTPDSN_TEST_RECORD``. It has no opinion on anything."""

    def __init__(self) -> None:
        self.path = Path(os.environ["SMTPDSN_TEST_RECORD"])

    def _write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> None:
        self._write({"mail": address, "ret": params.ret, "envid": params.envid})

    def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> None:
        notify = sorted(params.notify) if params.notify is not None else None
        orcpt = list(params.orcpt) if params.orcpt is not None else None
        self._write({"rcpt": address, "notify": notify, "orcpt": orcpt})


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
            probe.settimeout(10)
            ok = probe.recv(512).startswith(b"220")
            probe.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------
# A recording TCP proxy between the MTA and smtpdsn


@dataclass
class Conversation:
    """What crossed one proxied connection, in order: ``("client" | "server", bytes)``;
    ``b""`` is that side's end of stream (a half-close when the other side goes on)."""

    events: list[tuple[str, bytes]]

    def sent(self, side: str) -> bytes:
        return b"".join(data for who, data in self.events if who == side)

    def server_after_client_eof(self) -> bytes | None:
        """What the server sent after the client shut its side; None if it never did."""
        for index, (who, data) in enumerate(self.events):
            if who == "client" and data == b"":
                return b"".join(d for w, d in self.events[index:] if w == "server")
        return None


class RecordingProxy:
    """Forwards connections on ``127.0.0.1:port`` to ``127.0.0.1:upstream`` and records each
    :class:`Conversation`. A half-close is passed on as a half-close (``shutdown(SHUT_WR)``),
    so each side sees what the other did."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self.listener.getsockname()[1]
        self.conversations: list[Conversation] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            conversation = Conversation([])
            with self._lock:
                self.conversations.append(conversation)
            thread = threading.Thread(target=self._pump, args=(client, conversation), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _pump(self, client: socket.socket, conversation: Conversation) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        except OSError:
            client.close()
            return
        peers = {client: (server, "client"), server: (client, "server")}
        open_sides = {client, server}
        deadline = time.monotonic() + 300
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            while open_sides and not self._closing and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.5):
                    ready = key.fileobj
                    assert isinstance(ready, socket.socket)
                    other, side = peers[ready]
                    try:
                        data = ready.recv(65536)
                    except OSError:
                        data = b""
                    with self._lock:
                        conversation.events.append((side, data))
                    try:
                        if data:
                            other.setblocking(True)
                            other.sendall(data)
                            other.setblocking(False)
                        else:
                            other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    if not data:
                        selector.unregister(ready)
                        open_sides.discard(ready)
        client.close()
        server.close()

    def close(self) -> None:
        self._closing = True
        self.listener.close()
        for thread in self._threads:
            thread.join(5)


# ---------------------------------------------------------------------------------------------
# Postfix

_POSTFIX_SERVICES = """\
{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A Postfix instance of its own in ``base/postfix`` (``postfix -c DIR start``).

    Submissions on ``127.0.0.1:port``; everything not for :data:`SENDER_DOMAIN` goes to
    ``[127.0.0.1]:relay_port``; bounces land in the Maildir ``mailbox``. A 4xx is bounced at
    once (queue lifetimes of 0), so a lost message shows as a bounce, not a wait.
    """

    def __init__(self, base: Path, relay_port: int) -> None:
        self.root = base / "postfix"
        self.config = self.root / "etc"
        self.queue = self.root / "queue"
        self.logfile = self.root / "maillog"
        self.mailbox = base / "postfix-mailbox" / "inbox"
        self.relay_port = relay_port
        self.port = free_port()
        self.postfix = ensure_postfix()

    def _main_cf(self) -> str:
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.root / "data",
            "maillog_file": self.logfile,
            "maillog_file_prefixes": self.root,
            "myhostname": "postfix.mta.test",
            "mydomain": "mta.test",
            "myorigin": SENDER_DOMAIN,
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[127.0.0.1]:{self.relay_port}",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "virtual_mailbox_domains": SENDER_DOMAIN,
            "virtual_mailbox_base": self.mailbox.parent,
            "virtual_mailbox_maps": f"static:{self.mailbox.name}/",
            "virtual_uid_maps": f"static:{NOBODY}",
            "virtual_gid_maps": f"static:{NOBODY}",
            "alias_maps": "",
            "alias_database": "",
            "maximal_queue_lifetime": "0",
            "bounce_queue_lifetime": "0",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connection_cache_on_demand": "no",
            "smtputf8_enable": "no",
            "biff": "no",
        }
        return "".join(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        for folder in (self.config, self.queue, self.root / "data"):
            folder.mkdir(parents=True)
        self.mailbox.parent.mkdir(parents=True)
        os.chown(self.mailbox.parent, NOBODY, NOBODY)
        owner = pwd.getpwnam("postfix")
        os.chown(self.root / "data", owner.pw_uid, owner.pw_gid)
        (self.config / "main.cf").write_text(self._main_cf())
        (self.config / "master.cf").write_text(_POSTFIX_SERVICES.format(port=self.port))
        done = _run([self.postfix, "-c", str(self.config), "start"])
        if done.returncode != 0:
            self.stop()
            raise AssertionError(f"postfix start failed:\n{done.stdout}{done.stderr}{self.log()}")
        try:
            wait_until(lambda: _listening(self.port), 30, "Postfix's smtpd to listen")
        except AssertionError:
            self.stop()
            raise AssertionError(f"Postfix's smtpd did not listen:\n{self.log()}") from None

    def master_pid(self) -> int | None:
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def idle(self) -> bool:
        """True when no message is left in the queue (incoming, active, deferred ...)."""
        return not any(
            _files_under(self.queue / name)
            for name in ("maildrop", "incoming", "active", "deferred", "hold")
        )

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def stop(self) -> None:
        pid = self.master_pid()
        _run([self.postfix, "-c", str(self.config), "stop"])
        if pid is not None:
            _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 20) -> None:
    """Wait for process ``pid`` to end; SIGKILL it after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Exim

_EXIM_CONFIG = """\
exim_path = {binary}
primary_hostname = exim.mta.test
qualify_domain = {sender_domain}
spool_directory = {spool}
log_file_path = {logs}/%slog
pid_file_path = {root}/exim.pid
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
disable_ipv6 = true
host_lookup =
rfc1413_hosts =
dsn_advertise_hosts = *
smtp_accept_queue_per_connection = 0
tls_advertise_hosts =
deliver_drop_privilege
log_selector = +smtp_connection +received_recipients +deliver_time +outgoing_port
domainlist local_domains = {sender_domain}
hostlist relay_from_hosts = 127.0.0.1
acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
  accept hosts = +relay_from_hosts
  deny message = relay not permitted

begin routers

sender_mailbox:
  driver = accept
  domains = +local_domains
  transport = sender_maildir

to_smtpdsn:
  driver = manualroute
  domains = ! +local_domains
  transport = to_smtpdsn
  route_list = * 127.0.0.1
  self = send

begin transports

to_smtpdsn:
  driver = smtp
  port = {relay_port}
  allow_localhost
  hosts_try_chunking = {try_chunking}

sender_maildir:
  driver = appendfile
  directory = {mailbox}
  maildir_format
  create_directory
  user = {user}
  group = {user}
  mode = 0600

begin retry

# No retry times: a temporary failure bounces at once, so a lost message shows as a bounce.
*  *

begin rewrite
"""


class Exim:
    """An Exim daemon of its own (``exim -C CONF -bdf -q1s``) in ``base/exim``.

    Submissions on ``127.0.0.1:port``; everything not for :data:`SENDER_DOMAIN` goes to
    ``127.0.0.1:relay_port`` over SMTP (BDAT used when CHUNKING is offered, unless
    ``chunking`` is false: then always DATA); bounces land in the Maildir ``mailbox``; a
    temporary failure bounces at once.
    """

    def __init__(self, base: Path, relay_port: int, *, chunking: bool = True) -> None:
        self.binary = ensure_exim()
        self.chunking = chunking
        self.root = base / "exim"
        self.spool = self.root / "spool"
        self.logs = self.root / "log"
        self.conf = self.root / "exim.conf"
        self.mailbox = base / "exim-mailbox" / "inbox"
        self.relay_port = relay_port
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr = self.root / "daemon.stderr"

    def start(self) -> None:
        exim = pwd.getpwnam(EXIM_USER)
        for folder in (self.root, self.spool, self.logs, self.mailbox.parent):
            folder.mkdir(parents=True)
        for folder in (self.spool, self.logs, self.mailbox.parent):
            os.chown(folder, exim.pw_uid, exim.pw_gid)
        self.conf.write_text(
            _EXIM_CONFIG.format(
                sender_domain=SENDER_DOMAIN, spool=self.spool, logs=self.logs, root=self.root,
                port=self.port, relay_port=self.relay_port, mailbox=self.mailbox,
                user=EXIM_USER, binary=self.binary, try_chunking="*" if self.chunking else "",
            )
        )  # fmt: skip
        self.conf.chmod(0o644)
        with self._stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(self.binary), "-C", str(self.conf), "-bdf", "-q1s"],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        try:
            wait_until(lambda: self._alive() and _listening(self.port), 30, "Exim to listen")
        except AssertionError:
            self.stop()
            raise AssertionError(f"Exim did not start:\n{self.diagnostics()}") from None

    def _alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"the Exim daemon exited:\n{self.diagnostics()}")
        return True

    def diagnostics(self) -> str:
        parts = [self._stderr.read_text(errors="replace") if self._stderr.exists() else ""]
        parts += [path.read_text(errors="replace") for path in sorted(self.logs.glob("*log"))]
        return "\n".join(parts)

    def mainlog(self) -> str:
        path = self.logs / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""

    def idle(self) -> bool:
        """True when the spool holds no message (input/ is empty)."""
        return not _files_under(self.spool / "input")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # The daemon leads its own session: end it and any delivery it still runs.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


if __name__ == "__main__":
    # ``python3 -m tests.mta_support``: install both MTAs (.ci/run does this before the tests).
    status = 0
    for name, ensure in (("postfix", ensure_postfix), ("exim", ensure_exim)):
        started = time.monotonic()
        try:
            where = ensure()
        except MTAUnavailable as exc:
            print(f"warning: {name} unavailable, its tests will be skipped: {exc}")
            status = 1
        else:
            print(f"{name}: {where} ({time.monotonic() - started:.1f} s)")
    sys.exit(status)
