"""Capture under load: many participants send a photo constat at the same moment (PRODUCT.md, Budgets).

    .venv/bin/python benchmarks/load_capture.py [--clients 30] [--rounds 1] [--timeout 120] [--keep]

It starts a server of its own (`walkapp serve`) on a fresh temporary SQLite database and media
folder, loads the demo to get an open walk and its join link, then, per round:
  1. makes one distinct ~3 MB JPEG per client (3000x2250, quality 92), before any timing;
  2. each client (own cookies, loopback) opens the join link and joins under a name;
  3. all clients wait on a barrier, then each POSTs one constat with its photo, at once;
  4. checks the outcome through the API and on disk.

It reports errors (non-2xx or exceptions), lost constats (acknowledged with 201 but absent from
the walk's list, or whose files are missing or wrong on disk), duplicates (more constats than
client_uuids), POST latencies (p50, p95, max) and wall times. Budget: 0 errors, 0 lost,
0 duplicates, p95 <= 2 s on 2 cores. It prints figures and never asserts them: a benchmark is read.

The clients run on the same machine as the server and take some of its CPU (mostly sending
30 x 3 MB through httpx): the figures are, if anything, pessimistic for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import random
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402  (the benchmarks folder is not a package)

PHOTO_SIZE = (3000, 2250)
PHOTO_QUALITY = 92
# Noise strength that gives ~3.0 MB at 3000x2250, quality 92 (the script prints the real sizes).
PHOTO_NOISE_SIGMA = 24
SERVER_START_TIMEOUT = 30  # seconds for `walkapp serve` to answer its first request
BUDGET_P95_S = 2.0
CSRF_COOKIE = "walkapp_csrf"


@dataclass
class ClientResult:
    """What happened to one participant in one round."""
    number: int
    client_uuid: str
    photo_sha256: str
    join_error: str | None = None
    walk_id: int | None = None  # read from the join redirect
    post_status: int | None = None
    post_error: str | None = None
    latency_s: float | None = None
    post_started: float | None = None
    post_ended: float | None = None
    observation: dict | None = None

    @property
    def error(self) -> str | None:
        if self.join_error:
            return f"join: {self.join_error}"
        if self.post_error:
            return f"post: {self.post_error}"
        if self.post_started is None:
            return "post: never sent (the round timed out first)"
        if self.post_ended is None:
            return "post: no answer before the round's timeout"
        return None


@dataclass
class RoundReport:
    number: int
    results: list[ClientResult]
    lost: list[str] = field(default_factory=list)  # one line of why, per lost constat
    duplicates: int = 0
    walk_total: int = 0
    burst_wall_s: float = 0.0
    round_wall_s: float = 0.0
    server_cpu_s: float | None = None  # CPU the server used during joins + POSTs, all threads
    client_cpu_s: float = 0.0  # CPU this process used meanwhile (the 30 clients share the machine)
    timed_out: bool = False
    checked: bool = False  # lost and duplicates mean something only once the checks have run

    @property
    def errors(self) -> list[str]:
        return [f"client {r.number}: {r.error}" for r in self.results if r.error]

    @property
    def latencies(self) -> list[float]:
        return [r.latency_s for r in self.results if r.latency_s is not None]


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(work: Path) -> dict[str, str]:
    """The environment for every `walkapp` command here: nothing of the developer's own database,
    media folder or secret is touched."""
    env = dict(os.environ)
    env.update({
        "WALKAPP_DATABASE_URL": f"sqlite:///{work / 'walkapp.sqlite'}",  # absolute: four slashes
        "WALKAPP_MEDIA_DIR": str(work / "media"),
        "WALKAPP_SECRET_KEY": secrets.token_urlsafe(48),
    })
    return env


def walkapp(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "walkapp", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"walkapp {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def start_server(port: int, env: dict[str, str], work: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "walkapp", "serve", "--port", str(port)],
                                env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start:\n{log.read_text()}")
        try:
            if httpx.get(base_url + "/connexion", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # uvicorn finishes the requests in flight on SIGTERM
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its threads, from /proc (Linux only). Tells a
    busy server (CPU-bound: about 2 s of CPU per second on 2 cores) from a waiting one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def server_log_problems(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line or "Exception" in line]


# --- one round --------------------------------------------------------------------------------

def make_photos(count: int, round_number: int, rng: random.Random) -> list[bytes]:
    """Distinct photos of the same weight: one noisy base image, shifted and labelled per client.
    Distinct bytes matter: identical photos would be stored once (content addressing) and the
    server would skip most of the writes this benchmark is meant to load."""
    base = synthetic.noisy_image(*PHOTO_SIZE, PHOTO_NOISE_SIGMA)
    return [synthetic.jpeg_bytes(synthetic.variant(base, f"round {round_number} client {n}", rng),
                                 PHOTO_QUALITY)
            for n in range(count)]


# A 12 Mpx phone photo of ~3 MB (--photo 12mpx): the common case on today's phones, where the
# pipeline decodes at half scale. The default 3000x2250 one can't be (1500 < 1600): the worst case.
PHOTO_PRESETS = {"6.75mpx": ((3000, 2250), 92, 24), "12mpx": ((4000, 3000), 85, 16)}


def constat_fields(client_uuid: str, number: int) -> dict[str, str]:
    return {"client_uuid": client_uuid, "issue": "dechets", "angle": "usages", "polarity": "negative",
            "description": f"Constat de charge n° {number}", "lat": f"{50.5637 + number * 1e-5:.6f}",
            "lon": "2.4827", "accuracy_m": "10", "street": "Rue Carnot"}


async def participant(result: ClientResult, photo: bytes, base_url: str, join_path: str,
                      barrier: asyncio.Barrier) -> None:
    """One phone: joins, waits for everyone, sends its constat. Records everything in `result`,
    so a round that times out still knows what each client got."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        try:
            await client.get(join_path)  # sets the CSRF cookie, as the join page does in a browser
            response = await client.post(join_path, data={"display_name": f"Charge {result.number}"},
                                         headers={"x-csrftoken": client.cookies[CSRF_COOKIE]})
            match = re.match(r"/marches/(\d+)/", response.headers.get("location", ""))
            if response.status_code != 303 or not match:
                result.join_error = f"HTTP {response.status_code}"
            else:
                result.walk_id = int(match.group(1))
        except Exception as error:  # a benchmark reports failures, it does not stop at the first
            result.join_error = f"{type(error).__name__}: {error}"
        # Everyone waits here, joined or not, so that one failed join cannot hold the others back.
        await barrier.wait()
        if result.walk_id is None:
            return
        url = f"/api/v1/walks/{result.walk_id}/observations"
        files = [("photos", (f"charge-{result.number}.jpg", photo, "image/jpeg"))]
        result.post_started = time.perf_counter()
        try:
            response = await client.post(url, data=constat_fields(result.client_uuid, result.number), files=files,
                                         headers={"x-csrftoken": client.cookies[CSRF_COOKIE]})
            result.post_status = response.status_code
            if response.is_success:
                result.observation = response.json()
            else:
                result.post_error = f"HTTP {response.status_code}: {response.text[:200]}"
        except Exception as error:
            result.post_error = f"{type(error).__name__}: {error!r}"
        # Not in a `finally`: a request cut off by the round's timeout has no latency to report.
        result.post_ended = time.perf_counter()
        result.latency_s = result.post_ended - result.post_started


async def run_round(number: int, clients: int, photos: list[bytes], base_url: str, join_path: str,
                    work: Path, timeout: float, sent_so_far: set[str], server_pid: int) -> RoundReport:
    results = [ClientResult(n, str(uuid.uuid4()), hashlib.sha256(photo).hexdigest())
               for n, photo in enumerate(photos)]
    report = RoundReport(number, results)
    barrier = asyncio.Barrier(clients)
    started = time.perf_counter()
    server_cpu_before, client_cpu_before = cpu_seconds(server_pid), time.process_time()
    sent_so_far.update(r.client_uuid for r in results)
    tasks = [asyncio.create_task(participant(r, p, base_url, join_path, barrier))
             for r, p in zip(results, photos, strict=False)]
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*tasks)
            server_cpu_after = cpu_seconds(server_pid)
            if server_cpu_before is not None and server_cpu_after is not None:
                report.server_cpu_s = server_cpu_after - server_cpu_before
            report.client_cpu_s = time.process_time() - client_cpu_before
            walk_id = next((r.walk_id for r in results if r.walk_id is not None), None)
            if walk_id is not None:
                await check_outcome(report, base_url, join_path, walk_id, work, sent_so_far)
    except TimeoutError:
        report.timed_out = True
    report.round_wall_s = time.perf_counter() - started
    posts = [r for r in results if r.post_started is not None]
    if posts:
        last_answer = max(r.post_ended or time.perf_counter() for r in posts)
        report.burst_wall_s = last_answer - min(r.post_started for r in posts)
    return report


async def check_outcome(report: RoundReport, base_url: str, join_path: str, walk_id: int, work: Path,
                        sent_so_far: set[str]) -> None:
    """Lost and duplicated constats, seen the way a client sees them (the API) and where the
    files really are (the media folder, through the paths the database holds)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as reader:
        await reader.get(join_path)
        await reader.post(join_path, data={"display_name": "Vérification"},
                          headers={"x-csrftoken": reader.cookies[CSRF_COOKIE]})
        listing = (await reader.get(f"/api/v1/walks/{walk_id}/observations")).json()["observations"]
    report.checked = True
    report.walk_total = len(listing)
    listed = Counter(o["client_uuid"] for o in listing)
    # The demo's open walk starts empty, so every constat in it should be one this run sent (any
    # round so far), once. Surplus: a client_uuid listed twice, or one nobody sent.
    report.duplicates = (len(listing) - len(listed)) + sum(1 for u in listed if u not in sent_so_far)

    files = photo_files_on_record(work, [r.client_uuid for r in report.results])
    media = work / "media"
    for result in report.results:
        if result.post_status != 201:
            continue
        if listed[result.client_uuid] == 0:
            report.lost.append(f"client {result.number}: acknowledged but not in the walk's list")
            continue
        paths = files.get(result.client_uuid)
        if not paths:
            report.lost.append(f"client {result.number}: no photo row")
            continue
        original, display, thumb, sha = paths
        if sha != result.photo_sha256:
            report.lost.append(f"client {result.number}: photo row names another photo")
        for relative in (original, display, thumb):
            if not (media / relative).is_file() or (media / relative).stat().st_size == 0:
                report.lost.append(f"client {result.number}: missing file {relative}")
        if (media / original).is_file() and hashlib.sha256((media / original).read_bytes()).hexdigest() != sha:
            report.lost.append(f"client {result.number}: stored original differs from the photo sent")


def photo_files_on_record(work: Path, client_uuids: list[str]) -> dict[str, tuple[str, str, str, str]]:
    """client_uuid -> (original, display, thumbnail, sha256) as the database records them; read
    only, beside the running server (SQLite in WAL mode lets a reader in during writes)."""
    database = sqlite3.connect(f"file:{work / 'walkapp.sqlite'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(client_uuids))
        rows = database.execute(
            "SELECT o.client_uuid, p.original_path, p.display_path, p.thumb_path, p.sha256 "
            f"FROM observation o JOIN photo p ON p.observation = o.id WHERE o.client_uuid IN ({marks})",
            client_uuids).fetchall()
    finally:
        database.close()
    return {row[0]: row[1:] for row in rows}


# --- reporting --------------------------------------------------------------------------------

def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile: always one of the measured values, no interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)] if ordered else float("nan")


def print_round(report: RoundReport, photos: list[bytes]) -> None:
    sizes = [len(p) / 1e6 for p in photos]
    statuses = Counter(r.post_status for r in report.results)
    latencies = report.latencies
    print(f"round {report.number}: {len(report.results)} clients, photos {min(sizes):.2f}-{max(sizes):.2f} MB "
          f"(mean {sum(sizes) / len(sizes):.2f}), statuses {dict(statuses)}"
          + ("  ** TIMED OUT **" if report.timed_out else ""))
    if report.checked:
        print(f"  errors {len(report.errors)}, lost {len(report.lost)}, duplicates {report.duplicates}, "
              f"constats in the walk {report.walk_total}")
    else:
        print(f"  errors {len(report.errors)}, lost and duplicates NOT CHECKED (no join succeeded, or timed out)")
    print(f"  POST latency s: p50 {percentile(latencies, 50):.2f}  p95 {percentile(latencies, 95):.2f}  "
          f"max {max(latencies, default=float('nan')):.2f}")
    print(f"  wall s: burst (first POST sent -> last answer) {report.burst_wall_s:.2f}, "
          f"round (joins + burst + checks) {report.round_wall_s:.2f}")
    if report.server_cpu_s is not None:
        print(f"  CPU s during joins + POSTs: server {report.server_cpu_s:.2f}, "
              f"clients (this process) {report.client_cpu_s:.2f}")
    for line in (report.errors + report.lost)[:10]:
        print(f"    {line}")


def print_summary(reports: list[RoundReport], total_wall_s: float, log_problems: list[str]) -> None:
    latencies = [s for r in reports for s in r.latencies]
    errors = sum(len(r.errors) for r in reports)
    lost = sum(len(r.lost) for r in reports)
    duplicates = max((r.duplicates for r in reports), default=0)  # each check sees the whole walk
    p95 = percentile(latencies, 95)
    print(f"\nall rounds: {len(reports)} x {len(reports[0].results) if reports else 0} POSTs, errors {errors}, "
          f"lost {lost}, duplicates {duplicates}")
    print(f"  POST latency s: p50 {percentile(latencies, 50):.2f}  p95 {p95:.2f}  "
          f"max {max(latencies, default=float('nan')):.2f}")
    print(f"  total wall time (server start to stop, photo making included) {total_wall_s:.1f} s")
    print(f"  server log lines with Traceback/ERROR/Exception: {len(log_problems)}")
    for line in log_problems[:5]:
        print(f"    {line}")
    unchecked = sum(1 for r in reports if not r.checked)
    if unchecked:
        print(f"  lost and duplicates not checked in {unchecked} round(s)")
    within = errors == 0 and lost == 0 and duplicates == 0 and not unchecked and p95 <= BUDGET_P95_S
    print(f"budget (0 errors, 0 lost, 0 duplicates, p95 <= {BUDGET_P95_S:.0f} s on 2 cores): "
          f"{'within' if within else 'OUTSIDE'}; this machine has {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=30, help="participants posting at once (default 30)")
    parser.add_argument("--rounds", type=int, default=1, help="bursts to send, one after the other (default 1)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds allowed per round for joins, POSTs and checks; photo making and "
                             "server start come before it (default 120)")
    parser.add_argument("--photo", choices=sorted(PHOTO_PRESETS), default="6.75mpx",
                        help="photo made per client: 6.75mpx (3000x2250, the default) or 12mpx (4000x3000), both ~3 MB")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, media, log)")
    args = parser.parse_args()
    global PHOTO_SIZE, PHOTO_QUALITY, PHOTO_NOISE_SIGMA
    PHOTO_SIZE, PHOTO_QUALITY, PHOTO_NOISE_SIGMA = PHOTO_PRESETS[args.photo]

    work = Path(tempfile.mkdtemp(prefix="walkapp-load-"))
    env = server_env(work)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = work / "server.log"
    print(f"work folder {work}, server {base_url}, {args.clients} clients x {args.rounds} round(s), "
          f"load average at the start {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    started = time.perf_counter()
    reports: list[RoundReport] = []
    try:
        walkapp(["migrate"], env, work)
        demo = walkapp(["demo", "--url", base_url], env, work)
        join_url = next(line.split(" ", 1)[1] for line in demo.splitlines() if line.startswith("join: "))
        join_path = join_url[len(base_url):]
        server = start_server(port, env, work, log)
        try:
            wait_until_up(base_url, server, log)
            rng = random.Random()
            sent_so_far: set[str] = set()
            for number in range(1, args.rounds + 1):
                photos = make_photos(args.clients, number, rng)
                report = asyncio.run(run_round(number, args.clients, photos, base_url, join_path, work,
                                               args.timeout, sent_so_far, server.pid))
                print_round(report, photos)
                reports.append(report)
        finally:
            stop_server(server)
        print_summary(reports, time.perf_counter() - started, server_log_problems(log))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
