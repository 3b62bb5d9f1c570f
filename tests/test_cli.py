"""The command line: explain, list, reply, parse, and its error handling."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from smtpdsn.cli import main


def run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdout=out, stdin=io.StringIO(stdin))
    return code, out.getvalue()


def test_reply_prints_the_wire_reply() -> None:
    assert run(["reply", "no_such_user"]) == (0, "550 5.1.1 No such user\n")
    assert run(["reply", "no_such_user", "text", "--code", "450"]) == (0, "450 4.1.1 text\n")
    assert run(["reply", "mbox_full", "a", "b"]) == (0, "450-4.2.2 a\r\n450 4.2.2 b\n")


def test_explain_a_code_a_reply_line_and_an_unregistered_code() -> None:
    code, out = run(["explain", "5.7.26"])
    assert code == 0
    assert "Multiple authentication checks failed" in out
    assert "5 Permanent Failure" in out and "7 Security or Policy Status" in out
    assert "[RFC7372]" in out and "basic codes: 550" in out
    code, out = run(["explain", "550 5.1.1 No such user here"])
    assert "reply code:  550" in out and "Bad destination mailbox address" in out
    code, out = run(["explain", "5.7.606"])
    assert "606 (not registered with IANA" in out


def test_explain_json() -> None:
    _code, out = run(["explain", "--json", "450 4.2.2"])
    doc = json.loads(out)
    assert doc["status"] == "4.2.2" and doc["reply_code"] == 450
    assert doc["sample_text"] == "Mailbox full" and doc["class_meaning"].startswith("Persistent")


def test_list_and_list_json() -> None:
    _, out = run(["list"])
    assert "X.7.30" in out and "no_such_user" in out and "550 5.1.1 No such user" in out
    _, out = run(["list", "--json"])
    doc = json.loads(out)
    assert len(doc["codes"]) == 81 and len(doc["classes"]) == 3 and len(doc["subjects"]) == 8
    names = {f["name"] for f in doc["factories"]}
    assert "no_such_user" in names and "addr_dest_ambigous" in names
    _code, out = run(["list", "factories", "--json"])
    assert "codes" not in json.loads(out)


def test_parse_reads_replies_from_stdin() -> None:
    code, out = run(["parse"], "550-5.1.1 a\r\n550 5.1.1 b\r\n250 OK\n\n354 go\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert rows[0]["code"] == 550 and rows[0]["lines"] == ["a", "b"]
    assert rows[0]["kind"] == "permanent" and rows[0]["status"] == "5.1.1"
    assert rows[1] == {"code": 250, "status": None, "lines": ["OK"], "text": "OK",
                       "kind": "success"}
    assert rows[2]["kind"] == "intermediate"


def test_parse_reports_bad_replies_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["parse"], "550 4.1.1 x\n250 OK\n")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert "does not agree" in rows[0]["error"] and rows[1]["code"] == 250
    assert "reply 1:" in capsys.readouterr().err
    code, out = run(["parse", "--lenient"], "550 4.1.1 x\n")
    assert code == 0 and json.loads(out)["status"] == "5.1.1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reply", "no_such_usr"], "no factory named 'no_such_usr'; did you mean no_such_user?"),
        (["reply", "no_such_user", "--code", "600"], "invalid SMTP reply code 600"),
        (["reply", "no_such_user", "--code", "abc"], "invalid reply code 'abc'"),
        (["explain", "5.01.1"], "'5.01.1' is not an enhanced status code"),
        (["explain", "hello"], "cannot explain 'hello'"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdsn", *argv], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("error:") == 1


def test_console_script_and_module_agree() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdsn", "reply", "no_such_user"],
        capture_output=True, text=True, check=True,
    )
    assert proc.stdout == "550 5.1.1 No such user\n"


def test_classify_and_serve_are_wired_in(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support import CORPUS

    sample = CORPUS / "set-of-emails" / "maildir" / "bsd" / "lhost-postfix-05.eml"
    assert main(["classify", str(sample)]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["recipient"] == "kijitora@example.org" and row["status"] == "4.1.1"
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdsn", "serve", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "--rules" in proc.stdout and "--maildir" in proc.stdout


def test_importing_smtpdsn_does_not_import_aiosmtpd() -> None:
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys, smtpdsn, smtpdsn.cli; smtpdsn.cli._parser(); "
         "print('aiosmtpd' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert proc.stdout.strip() == "False"
