"""Face finding for the offline engine: boxes from mediapipe's full-range detector, then landmarks.

Two stages, because each mediapipe model alone misses faces:

* ``FaceMesh`` on a whole photo uses the short-range detector and finds nothing in group photos;
* the full-range detector on a whole photo misses small faces, so it also runs on overlapping
  tiles of a downscaled copy, and the boxes are merged by non-maximum suppression.

The 478-point mesh (468 + iris) then runs on a square crop around each box and is mapped back to
image coordinates. Detections where the mesh finds no face are dropped as false positives.

mediapipe is imported lazily (see :func:`load_mediapipe`); its ``solutions`` package imports
matplotlib only for drawing helpers, so a stub module stands in when matplotlib is absent.
"""

import contextlib
import os
import sys
import threading
import types
from dataclasses import dataclass

import numpy as np

#: long side of the copy the detector sees; bigger photos are downscaled to this first
DETECT_SIZE = 1280
#: tile side and stride for the detector on the downscaled copy
TILE = 512
STRIDE = 256
#: detections overlapping more than this (relative to the smaller box) are one face
NMS_OVERLAP = 0.45
#: longest side of the crop handed to the face mesh (it works at 192 px internally)
MESH_CROP = 384


@dataclass
class Face:
    """One face: detector box and 478 landmarks, both in image pixel coordinates (x, y)."""

    box: tuple  # (x0, y0, x1, y1) floats, from the detector
    score: float
    landmarks: np.ndarray  # float32 (478, 2)

    @property
    def width(self):
        """Width of the landmark bounding box in pixels."""
        return float(self.landmarks[:, 0].max() - self.landmarks[:, 0].min())

    @property
    def area(self):
        """Area of the landmark bounding box, used to pick the largest face."""
        lo = self.landmarks.min(axis=0)
        hi = self.landmarks.max(axis=0)
        return float((hi[0] - lo[0]) * (hi[1] - lo[1]))


def load_mediapipe():
    """Import and return mediapipe's legacy ``solutions`` face modules (detection, mesh).

    Raises ImportError if mediapipe (0.10.21, the last release shipping face models) is missing.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import matplotlib  # noqa: F401  (real one if installed)
    except ImportError:
        for name in ("matplotlib", "matplotlib.pyplot"):
            sys.modules.setdefault(name, types.ModuleType(name))
    from mediapipe.python.solutions import face_detection, face_mesh

    return face_detection, face_mesh


def _nms(boxes, overlap=NMS_OVERLAP):
    """Keep the best-scoring of every group of boxes overlapping more than ``overlap``.

    ``boxes`` is a list of (x0, y0, x1, y1, score); overlap is intersection / smaller area, so a
    face cut by a tile edge (small box inside the full one) merges with its complete detection.
    """
    kept = []
    for b in sorted(boxes, key=lambda b: -b[4]):
        area_b = (b[2] - b[0]) * (b[3] - b[1])
        duplicate = False
        for k in kept:
            iw = min(b[2], k[2]) - max(b[0], k[0])
            ih = min(b[3], k[3]) - max(b[1], k[1])
            if iw <= 0 or ih <= 0:
                continue
            area_k = (k[2] - k[0]) * (k[3] - k[1])
            if iw * ih / max(1e-6, min(area_b, area_k)) > overlap:
                duplicate = True
                break
        if not duplicate:
            kept.append(b)
    return kept


def _tile_origins(length, tile=TILE, stride=STRIDE):
    """Start offsets of tiles covering ``length`` with the given stride; last tile flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


class FaceFinder:
    """Finds faces and their landmarks. Holds the mediapipe graphs; calls are serialised by a lock."""

    def __init__(self, min_confidence=0.5):
        import cv2

        face_detection, face_mesh = load_mediapipe()
        self._cv2 = cv2
        self._detector = face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        )
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
        )
        self._lock = threading.Lock()

    def close(self):
        """Release the mediapipe graphs."""
        self._detector.close()
        self._mesh.close()

    # -- detection ---------------------------------------------------------------------------------
    def _detect_in(self, rgb, ox, oy, scale, out):
        """Run the detector on ``rgb`` and append boxes mapped to full-image coordinates to ``out``."""
        h, w = rgb.shape[:2]
        result = self._detector.process(rgb)
        for det in result.detections or ():
            bb = det.location_data.relative_bounding_box
            x0 = (ox + bb.xmin * w) / scale
            y0 = (oy + bb.ymin * h) / scale
            x1 = x0 + bb.width * w / scale
            y1 = y0 + bb.height * h / scale
            out.append((x0, y0, x1, y1, float(det.score[0])))

    def detect(self, rgb):
        """Face boxes ``(x0, y0, x1, y1, score)`` in image pixels, whole image plus tiles, merged."""
        cv2 = self._cv2
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_SIZE / float(max(h, w)))
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        boxes = []
        with self._lock:
            self._detect_in(np.ascontiguousarray(small), 0, 0, scale, boxes)
            if max(sh, sw) > TILE:
                for ty in _tile_origins(sh):
                    for tx in _tile_origins(sw):
                        tile = np.ascontiguousarray(small[ty:ty + TILE, tx:tx + TILE])
                        self._detect_in(tile, tx, ty, scale, boxes)
        return _nms(boxes)

    # -- landmarks ---------------------------------------------------------------------------------
    def landmarks(self, rgb, box):
        """478 landmarks (float32, image pixels) for the face in ``box``, or None if the mesh finds none."""
        cv2 = self._cv2
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = box[:4]
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        side = 1.8 * max(x1 - x0, y1 - y0)
        cx0 = int(max(0, np.floor(cx - side / 2)))
        cy0 = int(max(0, np.floor(cy - side / 2)))
        cx1 = int(min(w, np.ceil(cx + side / 2)))
        cy1 = int(min(h, np.ceil(cy + side / 2)))
        if cx1 - cx0 < 8 or cy1 - cy0 < 8:
            return None
        crop = rgb[cy0:cy1, cx0:cx1]
        ch, cw = crop.shape[:2]
        s = min(1.0, MESH_CROP / float(max(ch, cw)))
        if s < 1.0:
            size = (max(1, round(cw * s)), max(1, round(ch * s)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        crop = np.ascontiguousarray(crop)
        with self._lock:
            result = self._mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        pts = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], dtype=np.float32)
        pts[:, 0] = cx0 + pts[:, 0] * cw  # normalised to the crop, which maps to (cw, ch) pixels
        pts[:, 1] = cy0 + pts[:, 1] * ch
        # the mesh must land on the detected face, not on a neighbour inside the crop
        mx, my = pts[:, 0].mean(), pts[:, 1].mean()
        if not (x0 - 0.25 * (x1 - x0) <= mx <= x1 + 0.25 * (x1 - x0)
                and y0 - 0.25 * (y1 - y0) <= my <= y1 + 0.25 * (y1 - y0)):
            return None
        return pts

    def find(self, rgb, timed=None):
        """All faces in ``rgb`` (uint8 HxWx3) with landmarks, largest first.

        ``timed(stage)``, if given, returns a context manager timing the "detect" / "landmarks" stages.
        """
        timed = timed or (lambda stage: contextlib.nullcontext())
        rgb = np.ascontiguousarray(rgb)
        with timed("detect"):
            boxes = self.detect(rgb)
        with timed("landmarks"):
            faces = []
            for box in boxes:
                pts = self.landmarks(rgb, box)
                if pts is not None:
                    faces.append(Face(box=tuple(box[:4]), score=box[4], landmarks=pts))
            faces = _dedupe_meshes(faces)
            faces.sort(key=lambda f: -f.area)
        return faces


def _dedupe_meshes(faces):
    """Drop meshes that landed on the same face from two detections (centres closer than 30 % width)."""
    kept = []
    for f in sorted(faces, key=lambda f: -f.score):
        c = f.landmarks.mean(axis=0)
        if all(np.hypot(*(c - k.landmarks.mean(axis=0))) > 0.3 * max(k.width, f.width) for k in kept):
            kept.append(f)
    return kept
