"""Photo zip benchmark (PRODUCT.md, Budgets: "Bulk photo zip"): the streamed zip of ~1,000 photos
(~2 GB) from a live server, against `zip -0 -r` of the same files in the same run.

    .venv/bin/python benchmarks/zip_export.py [--photos 1000] [--mb 2.0] [--runs 3] [--dir /tmp]

What it does, in a temporary folder deleted at the end (unless --keep):
  1. makes a SQLite database and a media folder; writes N photo files of ~2 MB under
     media/originals/ (four real JPEGs made by synthetic.py, each copy padded to size with random
     bytes after the JPEG end marker, so every file has its own bytes and SHA-256: the zip stores
     bytes, it never decodes them), and inserts one walk, N/2 constats and N Photo rows pointing at them;
  2. starts `python -m walkapp serve` on a free loopback port, signs in as a coordinator;
  3. reads every file once (page cache warm for both contenders), then, alternating, `runs` times:
       zip   `zip -0 -r -q - originals > /dev/null` (stored, to a pipe: no disk write to charge it)
       ours  `curl` GET /exports/photos.zip?walk=ID&originals=1 to /dev/null (TTFB from curl)
     while a thread samples the server's VmRSS in /proc/<pid>/status every 5 ms;
  4. prints medians, throughput, time to first byte, the server's RSS when idle (after a small
     warm-up zip) and at its peak during the downloads, Content-Length against bytes received.

Budget: as fast as `zip -0` (ratio <= 1.0), first byte <= 0.5 s, <= 50 MB above idle. The script
prints, never asserts: a timing depends on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

PASSWORD = "banc-d-essai-zip-2026"
EMAIL = "bench@ville.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, amount = line.split(":", 1)
                values[name] = int(amount.split()[0])
    return values


class RssSampler(threading.Thread):
    """The peak VmRSS of a process while running, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.005):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak_kb = max(self.peak_kb, vm_status(self.pid)["VmRSS"])
                self.samples += 1
            except (OSError, KeyError):
                return
            time.sleep(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


# ---------------------------------------------------------------- data

def make_bases(count: int) -> list[bytes]:
    """A few real phone-like JPEGs (~1 MB each, 2000x1500), made once; copies are padded to size."""
    import synthetic

    rng = random.Random(6)
    base = synthetic.noisy_image(2000, 1500, 30)
    return [synthetic.jpeg_bytes(synthetic.variant(base, f"zip {index}", rng), 85) for index in range(count)]


def write_photos(media: Path, count: int, target_bytes: int) -> list[tuple[str, str, int]]:
    """(relative path, sha256, size) of `count` distinct files of about target_bytes."""
    import hashlib

    bases = make_bases(4)
    files = []
    for index in range(count):
        base = bases[index % len(bases)]
        padding = max(0, target_bytes - len(base))
        # After the JPEG's end marker: viewers ignore it, and every file differs.
        data = base + os.urandom(padding) + f"walkapp-bench-{index}".encode()
        sha = hashlib.sha256(data).hexdigest()
        relative = f"originals/{sha[:2]}/{sha}.jpg"
        path = media / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append((relative, sha, len(data)))
    return files


async def fill_database(files: list[tuple[str, str, int]]) -> int:
    """One open walk, len(files)/2 constats with two photos each. Returns the walk id."""
    import datetime as dt

    from walkapp import db, gusp
    from walkapp.accounts.services import create_user
    from walkapp.cli import migrate
    from walkapp.tables import Neighbourhood, Observation, Photo
    from walkapp.walks.services import StopInput, WalkInput, create_walk, set_status

    await migrate(quiet=True)
    await db.prepare(pool=False)
    try:
        await create_user(EMAIL, PASSWORD, "Banc d'essai", "coordinator", None)
        hood = Neighbourhood(qpv_code="QP062057", name="Ville Centre", town="Lillers", centre_lat=50.5636,
                             centre_lon=2.4826)
        await hood.save()
        walk = await create_walk(WalkInput(neighbourhood=hood.id, title="Banc d'essai zip", date=dt.date(2026, 11, 25),
                                           stops=[StopInput("Hôtel de Ville", 50.5636, 2.4826)]), None)
        await set_status(walk, "open")
        issues, streets = gusp.codes("issue"), ["Rue Carnot", "Rue d'Aire", "Place de l'Église", "Rue Pasteur", ""]
        pairs = [files[i:i + 2] for i in range(0, len(files), 2)]
        observations = [Observation(walk=walk.id, client_uuid=str(uuid.uuid4()), issue=issues[i % len(issues)],
                                    angle="gestion", description=f"Constat de banc d'essai n° {i}",
                                    lat=50.5636 + i / 100_000, lon=2.4826, location_source="device",
                                    street=streets[i % len(streets)]) for i in range(len(pairs))]
        for start in range(0, len(observations), 200):
            await Observation.insert(*observations[start:start + 200])
        ids = [row["id"] for row in await Observation.select(Observation.id).order_by(Observation.id)]
        photos = [Photo(observation=obs_id, sha256=sha, original_path=relative, display_path=relative,
                        thumb_path=relative, content_type="image/jpeg", width=2400, height=1800, bytes=size,
                        position=position)
                  for obs_id, pair in zip(ids, pairs, strict=False)
                  for position, (relative, sha, size) in enumerate(pair)]
        for start in range(0, len(photos), 200):
            await Photo.insert(*photos[start:start + 200])
        return walk.id
    finally:
        await db.release()


# ---------------------------------------------------------------- the contenders

def time_zip(media: Path) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["zip", "-0", "-r", "-q", "-", "originals"], cwd=media, stdout=sink, check=True)
    return time.perf_counter() - start


def time_zip_to_file(media: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["zip", "-0", "-r", "-q", str(out), "originals"], cwd=media, check=True)
    elapsed = time.perf_counter() - start
    out.unlink()
    return elapsed


def curl_get(url: str, cookie: str, headers_file: Path) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(["curl", "-s", "-o", os.devnull, "-D", str(headers_file), "-H", f"Cookie: {cookie}",
                           "-w", "%{http_code} %{time_starttransfer} %{time_total} %{size_download}", url],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    status, ttfb, total, size = done.stdout.split()
    length = next((int(line.split(":", 1)[1]) for line in headers_file.read_text().splitlines()
                   if line.lower().startswith("content-length:")), -1)
    return {"status": int(status), "ttfb": float(ttfb), "total": float(total), "wall": elapsed,
            "bytes": int(size), "content_length": length}


def sign_in(base: str) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/connexion")
        token = client.cookies["walkapp_csrf"]
        response = client.post("/connexion", data={"email": EMAIL, "password": PASSWORD},
                               headers={"x-csrftoken": token})
        assert response.status_code in (200, 303), response.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not start:\n{log.read_text()}")


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=2.0, help="size of each photo file, in MB (10^6 bytes)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to make the temporary folder (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if shutil.which("zip") is None or shutil.which("curl") is None:
        raise SystemExit("zip and curl are needed: apt-get install zip curl")

    work = Path(tempfile.mkdtemp(prefix="walkapp-zipbench-", dir=args.dir))
    media = work / "media"
    env = {**os.environ, "WALKAPP_DATABASE_URL": f"sqlite:///{work / 'bench.sqlite'}",
           "WALKAPP_MEDIA_DIR": str(media), "WALKAPP_SECRET_KEY": "bench-secret-" + "x" * 40,
           "PYTHONPATH": str(ROOT)}
    os.environ.update({k: env[k] for k in ("WALKAPP_DATABASE_URL", "WALKAPP_MEDIA_DIR", "WALKAPP_SECRET_KEY")})
    process = None
    try:
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {platform.python_version()}")
        start = time.perf_counter()
        files = write_photos(media, args.photos, int(args.mb * 1_000_000))
        total_bytes = sum(size for _, _, size in files)
        walk_id = asyncio.run(fill_database(files))
        print(f"data: {len(files)} photo files, {total_bytes / 1e9:.2f} GB, {len(files) // 2} constats "
              f"(made in {time.perf_counter() - start:.1f} s) in {work}")

        port = free_port()
        log = work / "server.log"
        with open(log, "w") as out:
            process = subprocess.Popen([sys.executable, "-m", "walkapp", "serve", "--port", str(port)],
                                       cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/connexion", process, log)
        cookie = sign_in(base)
        headers_file = work / "headers.txt"
        url = f"{base}/exports/photos.zip?walk={walk_id}&originals=1"
        # Warm-up: a small zip (imports, first queries), then every file read once (page cache).
        curl_get(f"{base}/exports/photos.zip?walk={walk_id}&status=rejected", cookie, headers_file)
        for relative, _, _ in files:
            (media / relative).read_bytes()
        time.sleep(0.5)
        idle = vm_status(process.pid)
        print(f"server idle: VmRSS {mb(idle['VmRSS'])}, VmHWM {mb(idle['VmHWM'])} (pid {process.pid})")

        zips, zips_to_file, ours = [], [], []
        for run in range(args.runs):
            zips.append(time_zip(media))
            sampler = RssSampler(process.pid)
            sampler.start()
            result = curl_get(url, cookie, headers_file)
            result["peak_kb"] = sampler.stop()
            result["samples"] = sampler.samples
            ours.append(result)
            zips_to_file.append(time_zip_to_file(media, work / "zip-to-file.zip"))
            print(f"run {run + 1}: zip -0 {zips[-1]:.2f} s (to a file: {zips_to_file[-1]:.2f} s); "
                  f"ours {result['total']:.2f} s, first byte {result['ttfb'] * 1000:.0f} ms, "
                  f"status {result['status']}, {result['bytes']} bytes received / Content-Length "
                  f"{result['content_length']}, peak RSS {mb(result['peak_kb'])} ({result['samples']} samples)")

        zip_median = statistics.median(zips)
        ours_median = statistics.median(r["total"] for r in ours)
        ttfb_median = statistics.median(r["ttfb"] for r in ours)
        peak = max(r["peak_kb"] for r in ours)
        above = peak - idle["VmRSS"]
        exact = all(r["bytes"] == r["content_length"] and r["status"] == 200 for r in ours)
        after = vm_status(process.pid)
        size = ours[0]["bytes"]
        print()
        print(f"zip size {size / 1e9:.3f} GB for {total_bytes / 1e9:.3f} GB of photos")
        print(f"zip -0 -r (to /dev/null)  median {zip_median:.2f} s  ({total_bytes / zip_median / 1e6:.0f} MB/s)")
        print(f"zip -0 -r (to a file)     median {statistics.median(zips_to_file):.2f} s")
        print(f"GET /exports/photos.zip   median {ours_median:.2f} s  ({size / ours_median / 1e6:.0f} MB/s), "
              f"ratio to zip -0: {ours_median / zip_median:.2f}")
        print(f"time to first byte        median {ttfb_median * 1000:.0f} ms, "
              f"worst {max(r['ttfb'] for r in ours) * 1000:.0f} ms")
        print(f"server RSS                idle {mb(idle['VmRSS'])}, peak during downloads {mb(peak)}, "
              f"+{mb(above)} above idle (VmHWM after: {mb(after['VmHWM'])})")
        print(f"Content-Length            {'exact on every run' if exact else 'MISMATCH'}")
        print()
        print(f"budget: speed {'within' if ours_median <= zip_median else 'OUTSIDE'} (<= zip -0), "
              f"first byte {'within' if ttfb_median <= 0.5 else 'OUTSIDE'} (<= 0.5 s), "
              f"memory {'within' if above <= 50 * 1024 else 'OUTSIDE'} (<= 50 MB above idle)")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
