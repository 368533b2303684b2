"""Index sets of the 468-point face mesh (mediapipe's model) used by the masks and warps (closed loops, in order).

All indices are < 468: the mesh model the engine runs has no iris points.

"Left"/"right" are the subject's: the subject's right eye is on the image's left.
"""

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_BROW = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
#: nostrils (ala), kept out of the smoothing so the nose keeps its shape
NOSE_WINGS = (48, 64, 98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115)

#: points on cheeks, forehead and nose bridge whose colour defines "skin" for this face
SKIN_SAMPLES = (50, 280, 101, 330, 123, 352, 205, 425, 36, 266, 151, 108, 337, 6, 197, 195)

NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10
#: lower jaw points whose mean is the centre of the slimming move, per side
RIGHT_JAW = (132, 58, 172)
LEFT_JAW = (361, 288, 397)
