"""Blurring benchmark: recall per class, needless blurs and ms per photo (PRODUCT.md, Budgets).

    .venv/bin/python benchmarks/privacy_blur.py [--set ../shared/photos/privacy] [--runs 1] [--verbose]

Each labelled photo of the set goes through the pipeline the server runs: photos.process (the
display image, up to 1600 px), then walkapp.privacy's detection (in the original decoded upright at
display size, as the worker does) and blur of the display image.
A labelled box counts as found when most (> 50 %) of its area, mapped onto the display image, lies
inside the blurred rectangles; "hard" boxes are neither required nor counted against. Faces are
counted on faces/, plates on plates/ (the plate frames' pedestrians are not labelled). none/:
photos blurred at all although nothing needs it. Time: detection + blur + both JPEGs, per photo,
the original's decode included, with OpenCV on one thread and the process pinned to one core where the system allows it.

Budget: recall >= 0.9 for faces and for plates, <= 300 ms per photo. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from walkapp import photos
from walkapp.privacy import detect, images

DEFAULT_SET = Path(__file__).resolve().parents[1].parent / "shared" / "photos" / "privacy"


def coverage(label: list[int], rects: list[tuple[int, int, int, int]], scale: float, shape) -> float:
    """The share of the label's area (original pixels, mapped by `scale`) inside `rects`."""
    mask = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = True
    x0, y0, x1, y1 = (int(round(v * scale)) for v in label)
    area = mask[y0:max(y0 + 1, y1), x0:max(x0 + 1, x1)]
    return float(area.mean()) if area.size else 0.0


def evaluate(root: Path, names: list[str] | None = None, verbose: bool = False) -> dict:
    labels = json.loads((root / "labels.json").read_text())
    result = {"faces": [0, 0], "plates": [0, 0], "none": [0, 0], "ms": [], "cpu_ms": [], "boxes": 0, "none_area": []}
    detect.check_models()
    for name, items in labels.items():
        if name.startswith("_") or (names is not None and name not in names):
            continue
        folder = name.split("/", 1)[0]
        data = (root / name).read_bytes()
        processed = photos.process(data, name)
        rgb, icc = images.decode(processed.display_jpeg)
        start, cpu = time.perf_counter(), time.process_time()
        boxes = images.find_boxes(rgb, data)  # as the worker: detection in the original's upright decode
        images.render(rgb, icc, boxes)
        result["ms"].append((time.perf_counter() - start) * 1000)
        result["cpu_ms"].append((time.process_time() - cpu) * 1000)
        result["boxes"] += len(boxes)
        height, width = rgb.shape[:2]
        kinds = {"faces": detect.FACE, "plates": detect.PLATE}
        rects = [detect.pixel_rect(b, width, height) for b in boxes]
        scale = width / processed.width
        found = total = 0
        for item in items:
            if isinstance(item, dict):  # hard: not required
                continue
            total += 1
            found += coverage(item, rects, scale, rgb.shape) > 0.5
        if folder in kinds:
            result[folder][0] += found
            result[folder][1] += total
        else:
            result["none"][0] += bool(boxes)
            result["none"][1] += 1
            mask = np.zeros(rgb.shape[:2], bool)
            for x0, y0, x1, y1 in rects:
                mask[y0:y1, x0:x1] = True
            result["none_area"].append(float(mask.mean()))
        if verbose:
            print(f"  {name}: {found}/{total} found, {len(boxes)} boxes "
                  f"({sum(b['kind'] == 'face' for b in boxes)} faces), {result['ms'][-1]:.0f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if not (args.set / "labels.json").is_file():
        sys.exit(f"no labels.json in {args.set}")
    r = evaluate(args.set, verbose=args.verbose)
    face, plate = r["faces"][0] / max(1, r["faces"][1]), r["plates"][0] / max(1, r["plates"][1])
    median, p90 = statistics.median(r["ms"]), sorted(r["ms"])[int(0.9 * (len(r["ms"]) - 1))]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (on {os.cpu_count()} CPUs)")
    print(f"faces  recall {face:.2f} ({r['faces'][0]}/{r['faces'][1]} labelled faces)")
    print(f"plates recall {plate:.2f} ({r['plates'][0]}/{r['plates'][1]} labelled plates)")
    area = 100 * statistics.mean(r["none_area"]) if r["none_area"] else 0.0
    print(f"none/  blurred without need: {r['none'][0]}/{r['none'][1]} photos, {area:.1f} % of their area on average; "
          f"{r['boxes']} boxes in all")
    print(f"time   median {median:.0f} ms, p90 {p90:.0f} ms, max {max(r['ms']):.0f} ms per photo (one core, wall)")
    print(f"       CPU median {statistics.median(r['cpu_ms']):.0f} ms, max {max(r['cpu_ms']):.0f} ms per photo "
          "(less sensitive to what else runs; a busy machine still slows it)")
    ok = face >= 0.9 and plate >= 0.9 and median <= 300
    print("within budget" if ok else "OUTSIDE budget", "(recall >= 0.9 per class, <= 300 ms per photo)")


if __name__ == "__main__":
    main()
