"""Frames of descriptors on disk: a .npy file that grows one frame at a time, with a JSON sidecar.

The .npy header is rewritten after each frame's data is on disk, so a run killed at any moment leaves a file
that numpy reads with every complete frame. The sidecar (``<file>.json``) is replaced atomically.
"""
import json
import os
from typing import Optional

import numpy as np

_HEADER_BYTES = 256  # room for any shape up to 10^15 frames


def _header(frames: int, rows: int, columns: int) -> bytes:
    header = {"descr": "<f8", "fortran_order": False, "shape": (frames, rows, columns)}
    text = repr(header).encode("latin1")
    prefix = b"\x93NUMPY\x01\x00"
    pad = _HEADER_BYTES - len(prefix) - 2 - len(text) - 1
    return prefix + (_HEADER_BYTES - len(prefix) - 2).to_bytes(2, "little") + text + b" " * pad + b"\n"


def write_json_atomically(path: str, content: dict) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as out:
        json.dump(content, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class FrameWriter:
    """Appends (rows × columns) float64 frames to ``path`` (.npy); ``metadata`` goes to ``path + '.json'``
    together with the per-frame ``times``."""

    def __init__(self, path: str, rows: int, columns: int, metadata: dict, append: bool = False):
        self.path, self.rows, self.columns = path, rows, columns
        self.metadata = dict(metadata)
        self.times = []
        if append and os.path.exists(path):
            existing = np.load(path, mmap_mode="r")
            if existing.shape[1:] != (rows, columns):
                raise ValueError(f"'{path}' holds frames of shape {existing.shape[1:]}, not {(rows, columns)}")
            self.frames = existing.shape[0]
            self._file = open(path, "r+b")
            self._file.truncate(_HEADER_BYTES + self.frames * rows * columns * 8)  # drop a partial frame
            sidecar = path + ".json"
            if os.path.exists(sidecar):
                with open(sidecar) as f:
                    self.times = json.load(f).get("times", [])[: self.frames]
        else:
            self.frames = 0
            self._file = open(path, "w+b")
            self._file.write(_header(0, rows, columns))
        self._write_sidecar()

    def append(self, frame: np.ndarray, time: Optional[float] = None) -> None:
        frame = np.ascontiguousarray(frame, dtype="<f8")
        if frame.shape != (self.rows, self.columns):
            raise ValueError(f"frame of shape {frame.shape}, expected {(self.rows, self.columns)}")
        self._file.seek(0, os.SEEK_END)
        self._file.write(frame.tobytes())
        self._file.flush()
        os.fsync(self._file.fileno())
        self.frames += 1
        self._file.seek(0)
        self._file.write(_header(self.frames, self.rows, self.columns))
        self._file.flush()
        self.times.append(time)
        self._write_sidecar()

    def _write_sidecar(self) -> None:
        write_json_atomically(self.path + ".json", {**self.metadata, "frames": self.frames, "times": self.times})

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
