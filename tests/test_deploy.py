"""The README's "Deploy" files are valid: nginx -t, systemd-analyze verify, and nginx lets through
the largest upload the app accepts. The README is their one place: they are read from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from walkapp.observations.controllers import MAX_UPLOAD_BYTES

CERTS = "/etc/letsencrypt/live/marche.example.fr/"


def readme_files() -> dict[str, str]:
    """Fenced blocks of the README whose first line is a comment naming a file: path → text."""
    files = {}
    for block in re.findall(r"```[a-z]*\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S):
        first = re.match(r"# (/\S+)", block)
        if first:
            files[first.group(1)] = block
    return files


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        pytest.skip(f"{name} is not installed")
    return found


def test_nginx_lets_the_largest_constat_through():
    site = readme_files()["/etc/nginx/sites-available/walkapp"]
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    # At least the app's limit (else nginx answers 413 in English, before the app's French one),
    # and not much more (else nginx buffers to disk what the app will refuse anyway).
    assert MAX_UPLOAD_BYTES <= megabytes * 2**20 <= MAX_UPLOAD_BYTES + 4 * 2**20, MAX_UPLOAD_BYTES / 2**20


def test_nginx_accepts_the_site(tmp_path):
    nginx, openssl = tool("nginx"), tool("openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=marche.example.fr", "-keyout", tmp_path / "privkey.pem", "-out", tmp_path / "fullchain.pem"],
                   check=True, capture_output=True)
    site = readme_files()["/etc/nginx/sites-available/walkapp"].replace(CERTS, f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                        "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path}/site.conf; }}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_systemd_units_verify(tmp_path):
    analyze = tool("systemd-analyze")
    files = readme_files()
    (tmp_path / "walkapp.env").write_text(files["/etc/walkapp/walkapp.env"])
    walkapp = Path(sys.executable).parent / "walkapp"
    units = [name for name in files if name.startswith("/etc/systemd/system/")]
    assert {Path(n).name for n in units} == {"walkapp.service", "walkapp-backup.service", "walkapp-backup.timer"}
    for name in units:
        text = files[name].replace("/etc/walkapp/walkapp.env", str(tmp_path / "walkapp.env"))
        (tmp_path / Path(name).name).write_text(text.replace("/srv/walkapp/.venv/bin/walkapp", str(walkapp)))
    result = subprocess.run([analyze, "verify", *(str(tmp_path / Path(n).name) for n in units)],
                            capture_output=True, text=True)
    problems = [line for line in result.stderr.splitlines()
                if "walkapp" in line and "Failed to resolve user" not in line]  # no such user on CI
    assert result.returncode == 0 or not problems, result.stderr
    assert not problems, result.stderr
