"""Photo intake benchmark: our pipeline against the naive one, on one core (PRODUCT.md, Budgets).

    .venv/bin/python benchmarks/photo_intake.py [--runs 30] [--warmup 3] [--profile]

For each photo it times, in the same run and alternating so that neither gets a warmer machine:
  ours   photos.process + photos.store into a fresh MediaStore (atomic writes, fsync included);
  naive  open, full decode, exif_transpose, LANCZOS resize to 1600, thumbnail 320 from that,
         both saved at our JPEG quality, then the same three files written the same way.
Both write through MediaStore on purpose: the ratio then compares the image work, not durability.

Budget: ours <= 150 ms median and >= 3x faster than naive. The script prints, never asserts: a
timing depends on the machine, and a benchmark that fails a build on a busy runner teaches nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import math
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, features

from walkapp import photos
from walkapp.storage import MediaStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402  (the benchmarks folder is not a package)

# shared/ sits beside the repository, as the tests expect (tests/conftest.py).
JOLLA = Path(__file__).resolve().parent.parent.parent / "shared" / "photos" / "ok" / "jolla.jpg"
BUDGET_MEDIAN_MS = 150
BUDGET_SPEEDUP = 3.0
# Noise strength for the made-up 12 Mpx photo: gives ~3.7 MB at quality 90, the size of a real
# 12 Mpx phone JPEG (jolla.jpg, a smooth 8 Mpx scene, is only 0.8 MB).
SYNTHETIC_NOISE_SIGMA = 16


@dataclass
class Sample:
    name: str
    data: bytes

    @property
    def megapixels(self) -> float:
        with Image.open(io.BytesIO(self.data)) as image:
            return image.width * image.height / 1e6


def pin_to_one_core() -> str:
    """The budget is per core: keep the process (and any thread it starts) on a single CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this system)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def make_12mpx_photo() -> Sample:
    """A 4000x3000 JPEG stored sideways (EXIF orientation 6), as most phones write portraits, so the
    rotation path runs."""
    image = synthetic.noisy_image(4000, 3000, SYNTHETIC_NOISE_SIGMA)
    return Sample("synthetic-12mpx-o6.jpg", synthetic.jpeg_bytes(image, quality=90, orientation=6))


def ours(data: bytes, name: str, root: Path) -> tuple[float, float, tuple[int, int]]:
    """Returns (process seconds, store seconds, display size)."""
    start = time.perf_counter()
    processed = photos.process(data, name)
    middle = time.perf_counter()
    photos.store(MediaStore(root), data, processed)
    end = time.perf_counter()
    with Image.open(io.BytesIO(processed.display_jpeg)) as display:
        size = display.size
    return middle - start, end - middle, size


def naive(data: bytes, root: Path) -> tuple[int, int]:
    """What one writes without knowing about draft(): decode all, rotate all, then shrink."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
    scale = photos.DISPLAY_SIZE / max(upright.size)
    display = upright.resize((round(upright.width * scale), round(upright.height * scale)),
                             Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((photos.THUMB_SIZE, photos.THUMB_SIZE), Image.Resampling.LANCZOS)
    display_jpeg, thumb_jpeg = io.BytesIO(), io.BytesIO()
    display.save(display_jpeg, "JPEG", quality=photos.JPEG_QUALITY)
    thumb.save(thumb_jpeg, "JPEG", quality=photos.JPEG_QUALITY)
    sha = hashlib.sha256(data).hexdigest()
    store = MediaStore(root)
    store.write(MediaStore.content_path("originals", sha, "jpg"), data)
    store.write(MediaStore.content_path("display", sha, "jpg"), display_jpeg.getvalue())
    store.write(MediaStore.content_path("thumbs", sha, "jpg"), thumb_jpeg.getvalue())
    return display.size


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile: always one of the measured values, no interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class Timings:
    """Milliseconds per run; `process` and `store` are the two halves of `ours`."""
    ours: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    ours_display: tuple[int, int] = (0, 0)
    naive_display: tuple[int, int] = (0, 0)


def measure(sample: Sample, runs: int, warmup: int, scratch: Path) -> Timings:
    """Times both pipelines `runs` times after `warmup` untimed rounds. Every run writes into a
    folder of its own that is deleted afterwards (outside the timing), so the content-addressed
    store never finds the files already there and skips the writes."""
    timings = Timings()
    for index in range(warmup + runs):
        timed = index >= warmup
        # Alternate who goes first: caches and CPU frequency then favour neither.
        order = ("ours", "naive") if index % 2 == 0 else ("naive", "ours")
        for pipeline in order:
            root = scratch / f"{pipeline}-{index}"
            gc.collect()  # garbage left by the previous run should not be collected in this one
            if pipeline == "ours":
                process_s, store_s, timings.ours_display = ours(sample.data, sample.name, root)
                if timed:
                    timings.ours.append((process_s + store_s) * 1000)
                    timings.process.append(process_s * 1000)
                    timings.store.append(store_s * 1000)
            else:
                start = time.perf_counter()
                timings.naive_display = naive(sample.data, root)
                if timed:
                    timings.naive.append((time.perf_counter() - start) * 1000)
            shutil.rmtree(root)
    return timings


def profile_ours(sample: Sample, scratch: Path, runs: int = 10) -> None:
    profiler = cProfile.Profile()
    for index in range(runs):
        root = scratch / f"profile-{index}"
        profiler.enable()
        photos.store(MediaStore(root), sample.data, photos.process(sample.data, sample.name))
        profiler.disable()
        shutil.rmtree(root)
    print(f"\ncProfile of ours on {sample.name}, {runs} runs (cumulative time, top 20):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per photo and pipeline (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile our pipeline on each photo")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where the temporary media folders go (default: the system temp folder; "
                             "put it on the disk the real media folder uses, fsync cost depends on it)")
    args = parser.parse_args()

    pinned = pin_to_one_core()
    print(f"Python {platform.python_version()}, Pillow {Image.__version__}, "
          f"libjpeg-turbo {features.version('jpg')}, {pinned}")
    print(f"{args.runs} timed runs after {args.warmup} warm-up runs, per photo and pipeline; "
          f"load average at the start: {load_average()}")

    with tempfile.TemporaryDirectory(prefix="walkapp-intake-", dir=args.scratch) as tmp:
        scratch = Path(tmp)
        print(f"scratch folder: {scratch}\n")
        samples = [Sample(JOLLA.name, JOLLA.read_bytes()), make_12mpx_photo()]
        rows = []
        for sample in samples:
            timings = measure(sample, args.runs, args.warmup, scratch)
            if timings.ours_display != timings.naive_display:
                print(f"warning: {sample.name}: display sizes differ (ours {timings.ours_display}, "
                      f"naive {timings.naive_display}): the comparison is not like for like")
            rows.append((sample, timings))
            if args.profile:
                profile_ours(sample, scratch)

    header = (f"{'file':<24} {'Mpx':>5} {'MB':>5}  {'ours med':>8} {'ours p90':>8}  "
              f"{'naive med':>9} {'naive p90':>9}  {'speed-up':>8}")
    print(header)
    print("-" * len(header))
    for sample, t in rows:
        print(f"{sample.name:<24} {sample.megapixels:>5.1f} {len(sample.data) / 1e6:>5.2f}  "
              f"{statistics.median(t.ours):>8.1f} {percentile(t.ours, 90):>8.1f}  "
              f"{statistics.median(t.naive):>9.1f} {percentile(t.naive, 90):>9.1f}  {speed_up(t):>7.1f}x")
    print("(ms per photo; speed-up = naive median / ours median)\n")

    print("where ours spends it (medians, ms):")
    for sample, t in rows:
        print(f"  {sample.name:<24} process {statistics.median(t.process):6.1f}   "
              f"store (3 atomic writes + fsync) {statistics.median(t.store):6.1f}   "
              f"display {t.ours_display[0]}x{t.ours_display[1]}")

    print(f"\nbudget: ours <= {BUDGET_MEDIAN_MS} ms median and >= {BUDGET_SPEEDUP:.0f}x faster than naive")
    for sample, t in rows:
        fast_enough = statistics.median(t.ours) <= BUDGET_MEDIAN_MS
        far_enough = speed_up(t) >= BUDGET_SPEEDUP
        verdict = "within budget" if fast_enough and far_enough else (
            "OUTSIDE budget: " + ", ".join(
                reason for reason, missed in (("median too slow", not fast_enough),
                                              ("speed-up too small", not far_enough)) if missed))
        print(f"  {sample.name:<24} {verdict}")
    print(f"load average (1, 5, 15 min) at the end: {load_average()}")


def speed_up(t: Timings) -> float:
    return statistics.median(t.naive) / statistics.median(t.ours)


def load_average() -> str:
    """Other work on the machine skews every figure: print it beside them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
