"""Record what mediapipe 0.10.21 itself finds on the sample photos: the reference the engine's face finder
(lib/smart_beauty_engine/faces.py, the same models run by OpenCV) is tested against.

Needs a Python 3.9-3.12 venv with ``mediapipe==0.10.21`` (``--no-deps``), opencv and Pillow; run once:

    python scripts/mediapipe-reference.py > tests/engine/data/mediapipe-0.10.21-reference.json

Cases: each sample at 1x and 0.5x, as is and mirrored. Per case: the short-range detector's best box and
six key points, and the 468-point mesh of ``FaceMesh(static_image_mode=True, refine_landmarks=False)``
(in pixels, 2 decimals).
"""

import json
import sys
import types
from pathlib import Path

import numpy as np
from PIL import Image

# mediapipe's solutions package imports matplotlib for drawing helpers only
for _name in ("matplotlib", "matplotlib.pyplot"):
    sys.modules.setdefault(_name, types.ModuleType(_name))
import mediapipe as mp  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def cases():
    for name in ("portrait.jpg", "hopper.jpg"):
        rgb = np.asarray(Image.open(REPO / "samples" / name).convert("RGB"))
        for scale in (1.0, 0.5):
            for mirrored in (False, True):
                img = rgb[:, ::-1] if mirrored else rgb
                if scale != 1.0:
                    img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize(
                        (round(img.shape[1] * scale), round(img.shape[0] * scale)), Image.BILINEAR))
                yield {"file": name, "scale": scale, "mirrored": mirrored}, np.ascontiguousarray(img)


def main():
    det = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                           min_detection_confidence=0.5)
    out = {"mediapipe": mp.__version__, "cases": []}
    for case, img in cases():
        h, w = img.shape[:2]
        d = det.process(img).detections[0]
        bb = d.location_data.relative_bounding_box
        case["box"] = [round(v, 2) for v in (bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w,
                                             (bb.ymin + bb.height) * h)]
        case["keypoints"] = [[round(k.x * w, 2), round(k.y * h, 2)] for k in d.location_data.relative_keypoints]
        case["score"] = round(float(d.score[0]), 4)
        lms = mesh.process(img).multi_face_landmarks[0].landmark
        case["landmarks"] = [[round(p.x * w, 2), round(p.y * h, 2)] for p in lms]
        out["cases"].append(case)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
