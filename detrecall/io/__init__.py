"""Everything that reads or writes files, behind one vocabulary: `read_ground_truth`,
`read_detections` and `write`, the format given or told from the path (`detect_format`).

Each format is one module, coco, yolo, voc and csv, with the same four functions
(`read_ground_truth`, `read_detections`, `write_ground_truth`, `write_detections`) and the
options of its own; arrays reads in-memory per-image dicts, labels plain label vectors.
"""

from ._formats import FORMATS, detect_format, read_detections, read_ground_truth, write

__all__ = ["FORMATS", "detect_format", "read_detections", "read_ground_truth", "write"]
