"""Frames of descriptors on disk: a .npy file that grows one frame at a time, a second one with the time of
each frame (``<file>.times.npy``), and a JSON sidecar (``<file>.json``) with what the frames are.

Each .npy header is rewritten after the frame's data is on disk, so a run killed at any moment leaves files
that numpy reads with every complete frame. The sidecar is written once, atomically.
"""
import json
import os
from typing import Optional

import numpy as np

_HEADER_BYTES = 256  # room for any shape up to 10^15 frames


def _header(shape) -> bytes:
    header = {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}
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


class GrowingArray:
    """A float64 .npy file of shape (frames, *frame_shape) that grows one frame at a time."""

    def __init__(self, path: str, frame_shape, append: bool = False):
        self.path, self.frame_shape = path, tuple(frame_shape)
        self.frame_bytes = 8 * int(np.prod(self.frame_shape, dtype=np.int64))
        if append and os.path.exists(path):
            existing = np.load(path, mmap_mode="r")
            if existing.shape[1:] != self.frame_shape:
                raise ValueError(f"'{path}' holds frames of shape {existing.shape[1:]}, not {self.frame_shape}")
            self.frames = existing.shape[0]
            del existing
            self._file = open(path, "r+b")
            self._file.truncate(_HEADER_BYTES + self.frames * self.frame_bytes)  # drop a partial frame
        else:
            self.frames = 0
            self._file = open(path, "w+b")
            self._file.write(_header((0,) + self.frame_shape))

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, dtype="<f8")  # tobytes() is C-ordered; keeps 0-d frames 0-d
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame of shape {frame.shape}, expected {self.frame_shape}")
        self._file.seek(0, os.SEEK_END)
        self._file.write(frame.tobytes())
        self._file.flush()
        os.fsync(self._file.fileno())  # the data is on disk before the header counts it
        self.frames += 1
        self._file.seek(0)
        self._file.write(_header((self.frames,) + self.frame_shape))
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class FrameWriter:
    """Appends (rows × columns) frames to ``path`` and their times to ``path.times.npy``; ``metadata`` goes to
    ``path.json``. With ``append``, an existing file is continued after its last complete frame."""

    def __init__(self, path: str, rows: int, columns: int, metadata: dict, append: bool = False):
        self.path = path
        self._frames = GrowingArray(path, (rows, columns), append)
        self._times = GrowingArray(path + ".times.npy", (), append)
        if self._times.frames != self._frames.frames:  # killed between the two files: keep what both have
            count = min(self._times.frames, self._frames.frames)
            for array in (self._frames, self._times):
                array.close()
            self._frames = _truncated(path, (rows, columns), count)
            self._times = _truncated(path + ".times.npy", (), count)
        write_json_atomically(path + ".json", {**metadata, "shape": ["frames", rows, columns],
                                               "times": os.path.basename(path) + ".times.npy (ps)"})

    @property
    def frames(self) -> int:
        return self._frames.frames

    def append(self, frame: np.ndarray, time: Optional[float] = None) -> None:
        self._frames.append(frame)
        self._times.append(np.array(np.nan if time is None else time))

    def close(self) -> None:
        self._frames.close()
        self._times.close()


def _truncated(path: str, frame_shape, count: int) -> GrowingArray:
    """Reopens ``path`` for appending with only its first ``count`` frames."""
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(_header((count,) + tuple(frame_shape)))
    return GrowingArray(path, frame_shape, append=True)
