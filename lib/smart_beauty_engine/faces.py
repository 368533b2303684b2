"""Face finding for the offline engine: mediapipe's face models run by OpenCV's DNN module.

Two models from the mediapipe 0.10.21 wheel and one from libfacedetection ship in ``models/`` (see
``models/README.md``), read by OpenCV (``cv2.dnn.readNetFromTFLite``, ``cv2.FaceDetectorYN``) and checked
by sha256 when loaded; nothing else is needed (no mediapipe package, no download). The graph around
mediapipe's two, which the ``.tflite`` files do not contain, is re-done here:

* **detector** (``face_detection_short_range``, 128x128): letterboxed RGB in [-1, 1], 896 SSD anchors,
  sigmoid scores, weighted non-maximum suppression; each detection has a box and six key points
  (eyes, nose tip, mouth, ears).
* **mesh** (``face_landmark``, 192x192): a square crop around the detection, 1.5x its longer side,
  turned so the eyes are level, RGB in [0, 1]; 468 points mapped back through the crop; a face flag
  rejects the detector's false positives.
* **second opinion** (YuNet-s, libfacedetection): a different detector, trained on other data. It
  confirms (or not) each detection scoring under ``SURE_SCORE``, at the detection's own scale, and,
  when the tiles run, looks at the whole photo once for faces they missed.

The short-range detector sees faces that fill a good part of its input, so a photo is searched at
several scales: the whole photo, then overlapping square tiles whose side is a fraction of the
photo's short side, small enough that a face of ``MIN_FACE`` (4 % of the short side) fills a tile
well. The tiles only run when they are needed: for every face (``multi_face``), or when the whole
photo showed none. Near the tiles' floor the short-range detector misses many faces of black-and-white
and sepia photos; the second opinion's look at the whole photo finds them.

Each mesh must belong to its own detection: a mesh whose centre falls outside the box of the
detection it was made for (it slid onto a neighbour in a tight group) is made again from a tighter
crop, and dropped if it still does not land; two meshes on one face keep the better one.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

import numpy as np

MODELS = Path(__file__).resolve().parent / "models"
#: the model files and their sha256 (models/README.md says where they come from)
MODEL_SHA256 = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "yunet_s_640_640.onnx": "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
}
SECOND_OPINION = "yunet_s_640_640.onnx"

DETECT_INPUT = 128
MESH_INPUT = 192
#: smallest face looked for, as a share of the photo's short side
MIN_FACE = 0.04
#: detector score threshold and weighted-NMS overlap (mediapipe's values)
MIN_SCORE = 0.5
NMS_IOU = 0.3
#: the detector finds faces from about 10 % to 65 % of its input's side (measured on the samples); with
#: half-overlapping tiles every face up to half a tile lies wholly inside one
SEES_FROM = 0.11
SEES_WHOLE = 0.5
#: a group whose smallest face found is under NEAR_FLOOR x the finest tiles' floor (SEES_FROM of their
#: side; near it the detector finds about one face in two) is searched again one level finer, down to
#: FINER_REACH of that face: its peers just below the floor are found too (everyone in a group photo)
NEAR_FLOOR = 1.3
FINER_REACH = 0.7
#: a detection scoring under SURE_SCORE is kept only if the second opinion (YuNet), shown the square
#: CONFIRM_SIDE x its size around it at CONFIRM_INPUT px (the face then about 80 px), finds a face
#: scoring CONFIRM_SCORE or more centred inside its box. Tiles show clothes and hands at every scale, and
#: at the edge of its range the short-range detector takes a sleeve's fold or clasped hands for a face
#: (scores 0.52-0.72), and, run again on that square, often still does; YuNet gives them 0.0-0.74 and
#: the 500 real faces the short-range detector was unsure of 0.84 or more (family and crowd photos, plain,
#: darkened, grey and sepia, at 30-100 % and tiled, 2026-12-02)
SURE_SCORE = 0.8
CONFIRM_SIDE = 2.0
CONFIRM_INPUT = 160
CONFIRM_SCORE = 0.8
#: when the tiles run, the second opinion also looks at the whole photo, shrunk so that a face of MIN_FACE
#: is SECOND_LOOK_PX px (never enlarged), and proposes what scores SECOND_LOOK_SCORE there (under
#: SURE_SCORE it is then confirmed at its own scale, as any detection). Near the tiles' floor the
#: short-range detector misses many faces of grey and sepia group photos (83 of 520 in the sweep of
#: docs/engine.md); YuNet at this size missed 4
SECOND_LOOK_PX = 28
SECOND_LOOK_SCORE = 0.6
#: YuNet's box (forehead to chin) as the short-range detector's square: side SECOND_BOX_SIDE x its width,
#: centre SECOND_BOX_DROP x its width lower (medians over the 29 faces of the samples both find)
SECOND_BOX_SIDE = 1.08
SECOND_BOX_DROP = 0.125
#: the mesh's crop: 1.5x the detection's longer side (mediapipe), tighter on a retry
ROI_SCALE = 1.5
ROI_SCALE_TIGHT = 1.2
#: face flag (logit) threshold: sigmoid > 0.5
FACE_FLAG = 0.0


class ModelError(RuntimeError):
    """A model file is missing, changed or cannot be read."""


@dataclass
class Detection:
    """One detector hit in image pixels: box, score and six key points (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    #: float32 (n, 2), the eyes first: the short-range detector's six are right eye, left eye, nose tip,
    #: mouth, right ear, left ear; YuNet's five right eye, left eye, nose tip, mouth's right and left corners
    keypoints: np.ndarray


@dataclass
class Face:
    """One face: detector box and 468 mesh points, both in image pixel coordinates (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray  # float32 (468, 2)

    @property
    def width(self) -> float:
        """Width of the landmark bounding box in pixels."""
        return float(self.landmarks[:, 0].max() - self.landmarks[:, 0].min())

    @property
    def area(self) -> float:
        """Area of the landmark bounding box, used to pick the largest face."""
        lo = self.landmarks.min(axis=0)
        hi = self.landmarks.max(axis=0)
        return float((hi[0] - lo[0]) * (hi[1] - lo[1]))


def model_path(name: str) -> Path:
    """Path of a shipped model, after checking its sha256 (raises :class:`ModelError`)."""
    path = MODELS / name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError("the engine's model file %s is missing (%s); reinstall Smart Beauty" % (name, e)) from e
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256[name]:
        raise ModelError("the engine's model file %s is damaged (sha256 differs); reinstall Smart Beauty" % name)
    return path


def _load_net(name: str):
    import cv2

    net = cv2.dnn.readNetFromTFLite(str(model_path(name)))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net, net.getUnconnectedOutLayersNames()


def _anchors() -> np.ndarray:
    """Centres (896, 2) of the short-range detector's SSD anchors, in [0, 1] (fixed size: only centres matter).

    Strides 8, 16, 16, 16 on a 128 input: 2 anchors per cell of the 16x16 grid, 6 per cell of the 8x8 grid.
    """
    out = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box ``a`` (4,) with boxes ``b`` (n, 4), all x0, y0, x1, y1."""
    iw = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(union, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray,
                 iou: float = NMS_IOU) -> list[Detection]:
    """mediapipe's weighted NMS: each cluster (IoU > ``iou`` with its best box) becomes the score-weighted mean."""
    order = list(np.argsort(-scores))
    kept: list[Detection] = []
    while order:
        best = order[0]
        overlaps = _iou(boxes[best], boxes[order])
        members = [order[i] for i in np.nonzero(overlaps > iou)[0]]
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(axis=0) / w.sum()
        kps = (keypoints[members] * w[:, :, None]).sum(axis=0) / w.sum()
        x0, y0, x1, y1 = (float(v) for v in box)
        kept.append(Detection(box=(x0, y0, x1, y1), score=float(scores[best]), keypoints=kps.astype(np.float32)))
        order = [i for i in order if i not in set(members)]
    return kept


def _merged(raw: list[tuple], short_side: int) -> list[Detection]:
    """The raw detections of every scale and tile as candidates: weighted NMS, tile noise dropped."""
    if not raw:
        return []
    boxes = np.array([r[0] for r in raw], np.float32)
    scores = np.array([r[1] for r in raw], np.float32)
    kps = np.stack([r[2] for r in raw]).astype(np.float32)
    dets = weighted_nms(boxes, scores, kps)
    # far below the smallest face looked for: tile noise (the mesh's face flag checks the rest)
    return [d for d in dets if d.box[2] - d.box[0] >= 0.5 * MIN_FACE * short_side]


def _drop_parts(dets: list[Detection]) -> list[Detection]:
    """Drop detections centred inside a detection over twice as wide: a tile that saw part of a big face.
    Given faces only (sure or confirmed): an unsure box across two or three faces, which a coarse tile
    gives, would take real faces with it."""
    def part(d: Detection, big: Detection) -> bool:
        return big.box[2] - big.box[0] > 2 * (d.box[2] - d.box[0]) and _centre_in(d, big.box)

    return [d for d in dets if not any(part(d, big) for big in dets if big is not d)]


def _rows(found: np.ndarray | None) -> np.ndarray:
    """YuNet's answer as rows (none: no rows): x, y, w, h, five key points (x, y), score."""
    return found if found is not None else np.zeros((0, 15), np.float32)


def _centre_in(d: Detection, box: tuple[float, float, float, float]) -> bool:
    """Whether ``d``'s box is centred inside ``box``."""
    cx, cy = (d.box[0] + d.box[2]) / 2.0, (d.box[1] + d.box[3]) / 2.0
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _same_face(a: Detection, b: Detection) -> bool:
    """Whether either detection's centre lies inside the other's box."""
    return _centre_in(a, b.box) or _centre_in(b, a.box)


def tile_sides(w: int, h: int) -> list[int]:
    """Tile sides after the whole-photo pass, largest first, until a face of :data:`MIN_FACE` is seen.

    Each level sees faces from ``SEES_FROM`` of its side up to ``SEES_WHOLE`` of it (wholly inside a
    tile), so the next level is at least ``SEES_FROM / SEES_WHOLE`` of the previous one: no size is missed.
    """
    long_side, short_side = max(w, h), min(w, h)
    goal = MIN_FACE * short_side / SEES_FROM  # a tile this size sees the smallest face looked for
    sides: list[int] = []
    side = float(long_side)
    while side > goal and side > 32:
        side = max(side * SEES_FROM / SEES_WHOLE, goal)
        sides.append(int(round(side)))
    return sides


def finer_side(dets: Sequence[Detection], side: int, short_side: int) -> int | None:
    """The side of one more, finer tile level when the smallest of ``dets`` lies near the floor of the
    finest level searched (``side``), else None. Faces in a group photo are much of a size: when some
    were found just above or below that floor, others of the same size were probably missed."""
    if not dets:
        return None
    smallest = min(d.box[2] - d.box[0] for d in dets)
    if smallest >= NEAR_FLOOR * SEES_FROM * side:
        return None
    reach = max(FINER_REACH * smallest, 0.5 * MIN_FACE * short_side)
    finer = int(round(reach / SEES_FROM))
    return finer if finer < side else None


def _tiles(w: int, h: int, side: int) -> Iterator[tuple[int, int]]:
    """Origins of square tiles of ``side`` covering w x h with half overlap, the last ones flush with the edges."""
    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        step = max(1, side // 2)
        s = list(range(0, length - side, step))
        s.append(length - side)
        return s

    for y in starts(h):
        for x in starts(w):
            yield x, y


def _load_second_opinion(path: Path, score: float):
    import cv2

    return cv2.FaceDetectorYN.create(str(path), "", (CONFIRM_INPUT, CONFIRM_INPUT), score, NMS_IOU, 5000)


def _square(rgb: np.ndarray, x0: int, y0: int, side: int, out: int) -> np.ndarray:
    """The square ``side`` at (x0, y0) of ``rgb`` (it may reach past the photo: mid grey there) as an
    ``out`` x ``out`` uint8 image, corner to corner as mediapipe maps it."""
    import cv2

    scale = out / float(side)
    m = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
    small = rgb
    if scale < 0.5:  # shrink most of the way with INTER_AREA first: bilinear sampling alone aliases
        x_lo, y_lo = max(0, x0), max(0, y0)
        part = rgb[y_lo:y0 + side, x_lo:x0 + side]
        size = (max(1, round(part.shape[1] * 2 * scale)), max(1, round(part.shape[0] * 2 * scale)))
        small = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        sx, sy = part.shape[1] / small.shape[1] * scale, part.shape[0] / small.shape[0] * scale
        m = np.array([[sx, 0.0, (x_lo - x0) * scale], [0.0, sy, (y_lo - y0) * scale]])
    return cv2.warpAffine(small, m, (out, out), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(127.5, 127.5, 127.5))


class FaceFinder:
    """Finds faces and their 468 mesh points. Holds the three networks; calls are serialised by a lock."""

    def __init__(self) -> None:
        self._detector, self._det_out = _load_net("face_detection_short_range.tflite")
        self._mesh, self._mesh_out = _load_net("face_landmark.tflite")
        # the second opinion, loaded when first asked (~35 ms with its first run; a portrait whose whole
        # photo shows a sure face never asks): two instances, as a network set up for one input size pays
        # ~10 ms to change it
        self._second_opinion = model_path(SECOND_OPINION)  # a damaged file stops the engine now, not later
        self._confirmer: Any = None  # always CONFIRM_INPUT square
        self._looker: Any = None  # the size of the photo's second look
        self._anchors = _anchors()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Run each network once on a blank input: a network's first pass sets up its buffers (about
        10 ms), which is better paid while the engine loads than in the first retouch."""
        with self._lock:
            nets = ((self._detector, self._det_out, DETECT_INPUT), (self._mesh, self._mesh_out, MESH_INPUT))
            for net, out, side in nets:
                net.setInput(np.zeros((1, 3, side, side), np.float32))
                net.forward(out)

    def close(self) -> None:
        """Drop the networks (a new FaceFinder loads them again)."""
        self._detector = self._mesh = self._confirmer = self._looker = None

    # -- detection ---------------------------------------------------------------------------------
    def _detect_square(self, rgb: np.ndarray, x0: int, y0: int, side: int) -> list[tuple]:
        """Raw detections ``(box, score, keypoints)`` in the square ``side`` at (x0, y0) of ``rgb``."""
        # what lies outside the photo is mid grey (0 in [-1, 1])
        blob = _square(rgb, x0, y0, side, DETECT_INPUT).astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)
        with self._lock:
            self._detector.setInput(blob.transpose(2, 0, 1)[None])
            outs = self._detector.forward(self._det_out)
        scores = next(o for o in outs if o.shape[-1] == 1)
        raw = next(o for o in outs if o.shape[-1] == 16)
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -100, 100)))
        hit = np.nonzero(scores >= MIN_SCORE)[0]
        out = []
        for i in hit:
            r = raw[0, i] / DETECT_INPUT
            ax, ay = self._anchors[i]
            cx, cy, bw, bh = ax + r[0], ay + r[1], r[2], r[3]
            kps = np.stack([ax + r[4::2], ay + r[5::2]], axis=1)
            # back to image pixels
            f = float(side)
            box = (x0 + (cx - bw / 2) * f, y0 + (cy - bh / 2) * f, x0 + (cx + bw / 2) * f, y0 + (cy + bh / 2) * f)
            out.append((box, float(scores[i]), kps * f + np.array([x0, y0], np.float32)))
        return out

    def detect(self, rgb: np.ndarray, every_face: bool = True) -> list[Detection]:
        """Detections in image pixels, merged across scales, best first.

        The whole photo first (a portrait ends there when only the largest face is wanted and one is
        sure there), then the tiles, which find faces down to :data:`MIN_FACE` of the short side.
        """
        h, w = rgb.shape[:2]
        long_side, short_side = max(h, w), min(h, w)
        raw = self._detect_square(rgb, (w - long_side) // 2, (h - long_side) // 2, long_side)
        if not every_face:
            whole = _drop_parts(self._sure(rgb, _merged(raw, short_side)))
            if whole:
                return whole
        sides = tile_sides(w, h)
        for side in sides:
            for tx, ty in _tiles(w, h, side):
                raw.extend(self._detect_square(rgb, tx, ty, side))
        found = self._sure(rgb, _merged(raw, short_side))
        finer = finer_side(_drop_parts(found), sides[-1], short_side) if every_face and sides else None
        if finer is not None:
            for tx, ty in _tiles(w, h, finer):
                raw.extend(self._detect_square(rgb, tx, ty, finer))
            found = self._sure(rgb, _merged(raw, short_side))
        found += self._sure(rgb, [d for d in self.second_look(rgb) if not any(_same_face(d, f) for f in found)])
        return _drop_parts(found)

    def second_look(self, rgb: np.ndarray) -> list[Detection]:
        """The second opinion's faces on the whole photo (shrunk so a face of :data:`MIN_FACE` is
        :data:`SECOND_LOOK_PX` px), as short-range detections: square boxes, key points, its score."""
        import cv2

        h, w = rgb.shape[:2]
        scale = min(1.0, SECOND_LOOK_PX / (MIN_FACE * min(h, w)))
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        sx, sy = w / float(small.shape[1]), h / float(small.shape[0])
        out = []
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        with self._lock:
            if self._looker is None:
                self._looker = _load_second_opinion(self._second_opinion, SECOND_LOOK_SCORE)
            if tuple(self._looker.getInputSize()) != (bgr.shape[1], bgr.shape[0]):
                self._looker.setInputSize((bgr.shape[1], bgr.shape[0]))
            rows = _rows(self._looker.detect(bgr)[1])
        for row in rows:
            x, y, bw, bh = row[0] * sx, row[1] * sy, row[2] * sx, row[3] * sy
            if bw < 0.5 * MIN_FACE * min(h, w):
                continue
            half = SECOND_BOX_SIDE * bw / 2.0
            cx, cy = x + bw / 2.0, y + bh / 2.0 + SECOND_BOX_DROP * bw
            kps = (row[4:14].reshape(5, 2) * np.array([sx, sy])).astype(np.float32)
            out.append(Detection(box=(float(cx - half), float(cy - half), float(cx + half), float(cy + half)),
                                 score=float(row[14]), keypoints=kps))
        return out

    def _sure(self, rgb: np.ndarray, dets: list[Detection]) -> list[Detection]:
        """The detections scoring :data:`SURE_SCORE` or more, and the others that are :meth:`confirmed`."""
        return [d for d in dets if d.score >= SURE_SCORE or self.confirmed(rgb, d)]

    def confirmed(self, rgb: np.ndarray, det: Detection) -> bool:
        """Whether the second opinion, shown the square :data:`CONFIRM_SIDE` times ``det``'s size around
        it, finds a face there scoring :data:`CONFIRM_SCORE` or more, centred inside ``det``'s box and of
        its size (half to twice: a coarse tile's box across two or three faces holds a face, but is none)."""
        x0, y0, x1, y1 = det.box
        side = int(round(CONFIRM_SIDE * max(x1 - x0, y1 - y0)))
        if side < 8:
            return False
        sx, sy = int(round((x0 + x1 - side) / 2.0)), int(round((y0 + y1 - side) / 2.0))
        bgr = np.ascontiguousarray(_square(rgb, sx, sy, side, CONFIRM_INPUT)[:, :, ::-1])
        with self._lock:
            if self._confirmer is None:
                self._confirmer = _load_second_opinion(self._second_opinion, CONFIRM_SCORE)
            found = _rows(self._confirmer.detect(bgr)[1])
        k = side / float(CONFIRM_INPUT)
        width = max(x1 - x0, 1e-6)
        return any(x0 <= sx + (f[0] + f[2] / 2.0) * k <= x1 and y0 <= sy + (f[1] + f[3] / 2.0) * k <= y1
                   and 0.5 <= SECOND_BOX_SIDE * f[2] * k / width <= 2.0 for f in found)

    # -- landmarks ---------------------------------------------------------------------------------
    def landmarks(self, rgb: np.ndarray, det: Detection, roi_scale: float = ROI_SCALE) -> np.ndarray | None:
        """468 points (float32, image pixels) for the face of ``det``, or None if the mesh sees no face there."""
        import cv2

        x0, y0, x1, y1 = det.box
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        side = roi_scale * max(x1 - x0, y1 - y0)
        if side < 8:
            return None
        eye_r, eye_l = det.keypoints[0], det.keypoints[1]
        theta = float(np.arctan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0]))  # eyes level after turning
        src, scale = rgb, 1.0
        if side > 2.5 * MESH_INPUT:  # shrink the neighbourhood first: bilinear sampling would alias
            scale = 2.0 * MESH_INPUT / side
            r = int(side * 0.75) + 2
            bx0, by0 = max(0, int(cx) - r), max(0, int(cy) - r)
            part = rgb[by0:int(cy) + r, bx0:int(cx) + r]
            src = cv2.resize(part, (max(1, round(part.shape[1] * scale)), max(1, round(part.shape[0] * scale))),
                             interpolation=cv2.INTER_AREA)
            cx, cy, side = (cx - bx0) * scale, (cy - by0) * scale, side * scale
        else:
            bx0 = by0 = 0
        # affine map from mesh-input pixels (u, v) to source pixels: centre + R(theta) * (u/192 - 0.5) * side
        c, s = np.cos(theta), np.sin(theta)
        k = side / MESH_INPUT
        m = np.array([[c * k, -s * k, cx - (c - s) * side / 2.0],
                      [s * k, c * k, cy - (s + c) * side / 2.0]], np.float64)
        crop = cv2.warpAffine(src, m, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        blob = (crop.astype(np.float32) * np.float32(1 / 255.0)).transpose(2, 0, 1)[None]
        with self._lock:
            self._mesh.setInput(blob)
            outs = self._mesh.forward(self._mesh_out)
        flag = next(o for o in outs if o.size == 1)
        pts = next(o for o in outs if o.size == 1404).reshape(468, 3)[:, :2].astype(np.float64)
        if float(flag.reshape(-1)[0]) <= FACE_FLAG:
            return None
        mapped = pts @ m[:, :2].T + m[:, 2]
        mapped = mapped / scale + np.array([bx0, by0])
        return mapped.astype(np.float32)

    def _own_mesh(self, rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        """The mesh of ``det``'s own face: retried from a tighter crop if the first one slid off the box."""
        x0, y0, x1, y1 = det.box
        for roi_scale in (ROI_SCALE, ROI_SCALE_TIGHT):
            pts = self.landmarks(rgb, det, roi_scale)
            if pts is None:
                continue
            mx, my = pts.mean(axis=0)
            if x0 <= mx <= x1 and y0 <= my <= y1:
                return pts
        return None

    def find(self, rgb: np.ndarray, every_face: bool = True,
             timed: Callable[[str], ContextManager] | None = None) -> list[Face]:
        """Faces in ``rgb`` (uint8 HxWx3) with their mesh, largest first.

        ``every_face=False`` may skip the tile search when the whole photo shows a face (only the
        largest is wanted). ``timed(stage)``, if given, times the "detect" / "landmarks" stages.
        """
        timed = timed or (lambda stage: contextlib.nullcontext())
        rgb = np.ascontiguousarray(rgb)
        with timed("detect"):
            dets = self.detect(rgb, every_face)
        with timed("landmarks"):
            faces = []
            for det in dets:
                pts = self._own_mesh(rgb, det)
                if pts is not None:
                    faces.append(Face(box=det.box, score=det.score, landmarks=pts))
            faces = dedupe(faces)
            faces.sort(key=lambda f: -f.area)
        return faces


def dedupe(faces: Sequence[Face]) -> list[Face]:
    """Keep one mesh per face, the best detection's. A mesh is dropped as a second one of a face kept
    before it when their centres are closer than 30 % of the face width, when either centre lies inside
    the other mesh (a detection of the wrong size around a face, found by tiles of another scale, makes
    a larger, off-centre mesh of it), or when the meshes kept cover most of its box (a mesh straddling
    two touching faces). Neighbours' own meshes, even touching, overlap at their edges only."""
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: -f.score):
        box = _mesh_box(f)
        covered = sum(_overlap(box, _mesh_box(k)) for k in kept)
        if covered > 0.5 * _overlap(box, box) or any(_one_face(f, k) for k in kept):
            continue
        kept.append(f)
    return kept


def _one_face(a: Face, b: Face) -> bool:
    ca, cb = a.landmarks.mean(axis=0), b.landmarks.mean(axis=0)
    if np.hypot(*(ca - cb)) <= 0.3 * max(a.width, b.width):
        return True
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = _mesh_box(a), _mesh_box(b)
    return bool((bx0 <= ca[0] <= bx1 and by0 <= ca[1] <= by1) or (ax0 <= cb[0] <= ax1 and ay0 <= cb[1] <= ay1))


def _mesh_box(face: Face) -> tuple[float, float, float, float]:
    lo, hi = face.landmarks.min(axis=0), face.landmarks.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area of the intersection of two boxes (x0, y0, x1, y1)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
