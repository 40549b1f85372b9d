"""``mocap filter``: pose3d.npz -> pose3d_filtered.npz, TRC files and foot contacts (file level).

A long clip is filtered a piece of time at a time (:data:`PIECE` frames), each piece with
:func:`context_frames` frames of the clip on either side so that smoothing and gap filling see
what lies across the cut; only the piece's own frames are kept. Memory then does not grow with
the clip. The floor of the foot contacts, when it is estimated, is estimated over the whole clip
(a second pass over the filtered frames). Whole-clip statistics a piece cannot see (constant bone
lengths, ``rigidify``; the up of a world without one) make the clip be filtered whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from mocap.data import Keypoints3D
from mocap.errors import OutputError
from mocap.filters import FilterSettings, filter_keypoints, foot_contacts
from mocap.filters.contacts import FEET, floor_from_lows, foot_lows
from mocap.fileio import atomic_path, person_suffix

PIECE = 1800  # frames per piece of a long clip (30 s at 60 fps)


@dataclass(frozen=True)
class FilterFileResult:
    contacts: np.ndarray  # (T, P, 2) left, right foot on the floor
    npz: Path
    trc: list[Path]
    contacts_npz: Path
    floor_known: bool = False  # contacts against z = 0 (True) or a floor estimated from the feet

    @cached_property
    def keypoints(self) -> Keypoints3D:
        """The filtered keypoints (read from ``npz`` when asked)."""
        return Keypoints3D.load(self.npz)


def context_frames(fps: float, groups) -> int:
    """Frames of context a piece needs on each side: two seconds (a Butterworth or Kalman smoother
    forgets its start within that), and three times the longest gap to fill."""
    gaps = max((s.fill_gaps for s in groups if s is not None), default=0)
    return int(max(2 * fps, 3 * gaps, 15))


def _trc_name(p: int) -> str:
    return f"pose3d_filtered{person_suffix(p)}.trc"


def filter_pose3d(input_path: str | os.PathLike, output_dir: str | os.PathLike | None = None, *,
                  settings: FilterSettings, face: FilterSettings | None = None,
                  hands: FilterSettings | None = None, contact_height: float = 0.05,
                  contact_speed: float = 0.3) -> FilterFileResult:
    """Filter ``input_path`` (a pose3d.npz) into ``output_dir`` (default: beside it).

    Writes ``pose3d_filtered.npz``, ``pose3d_filtered.trc`` (person 0; ``pose3d_filtered_pN.trc``
    for each further person) and ``foot_contacts.npz`` (``contacts`` (T, P, 2): left, right;
    ``floor`` (P, 2) the floor height under each foot and ``floor_known``: whether that is the
    calibration's z = 0 or an estimate from the feet, see :mod:`mocap.filters.contacts`).
    """
    from mocap.pipeline.chunks import TimeReader

    out_dir = Path(output_dir) if output_dir is not None else Path(input_path).parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", out_dir) from exc
    groups = (settings, face, hands)
    with TimeReader(input_path, Keypoints3D.TIME_AXES) as reader:
        reader.check_kind(Keypoints3D)
        n_frames, world = reader.n_frames, str(reader.static.get("world_frame", "z_up"))
        fps = float(reader.static.get("fps", 30.0))
    whole = n_frames <= 2 * PIECE or any(s is not None and s.rigidify for s in groups) or world == "unaligned"
    if whole:
        contacts, floor_known = _filter_whole(input_path, out_dir, groups, contact_height, contact_speed)
    else:
        contacts, floor_known = _filter_pieces(input_path, out_dir, groups, contact_height, contact_speed,
                                               context_frames(fps, groups))
    npz = out_dir / "pose3d_filtered.npz"
    n_persons = contacts.shape[1]
    return FilterFileResult(contacts, npz, [out_dir / _trc_name(p) for p in range(n_persons)],
                            out_dir / "foot_contacts.npz", floor_known)


def _save_contacts(out_dir: Path, contacts, fps, frame_index, floor, floor_known) -> None:
    with atomic_path(out_dir / "foot_contacts.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, contacts=contacts, feet=np.array(FEET), fps=fps, frame_index=frame_index,
                            floor=floor, floor_known=floor_known)


def _filter_whole(input_path, out_dir: Path, groups, height, speed):
    from exporters import write_trcs

    kp = Keypoints3D.load(input_path)
    filtered = filter_keypoints(kp, groups[0], face=groups[1], hands=groups[2])
    found = foot_contacts(filtered, height=height, speed=speed)
    filtered.save(out_dir / "pose3d_filtered.npz")
    write_trcs(filtered, out_dir, "pose3d_filtered")
    _save_contacts(out_dir, found.contacts, filtered.fps, filtered.frame_index, found.floor, found.floor_known)
    return found.contacts, found.floor_known


def _cut(kp: Keypoints3D, a: int, b: int) -> Keypoints3D:
    import dataclasses

    return dataclasses.replace(kp, **{f: (getattr(kp, f)[a:b] if axis == 0 else getattr(kp, f)[:, a:b])
                                      for f, axis in Keypoints3D.TIME_AXES.items()})


def _join(parts: list[Keypoints3D]) -> Keypoints3D:
    import dataclasses

    return dataclasses.replace(parts[0], **{f: np.concatenate([getattr(k, f) for k in parts], axis=axis)
                                            for f, axis in Keypoints3D.TIME_AXES.items()})


def _with_context(path, pad: int):
    """Yield (piece with up to ``pad`` frames of the clip on each side, where the piece's own frames start, length)."""
    from mocap.pipeline.chunks import read_by_time

    pieces = read_by_time(path, Keypoints3D, Keypoints3D.TIME_AXES, PIECE)
    previous, current = None, next(pieces, (0, None))[1]
    while current is not None:
        following = next(pieces, (0, None))[1]
        before = _cut(previous, max(previous.n_frames - pad, 0), previous.n_frames) if previous is not None else None
        after = _cut(following, 0, min(pad, following.n_frames)) if following is not None else None
        parts = [k for k in (before, current, after) if k is not None]
        yield _join(parts), (before.n_frames if before is not None else 0), current.n_frames
        previous, current = current, following


def _filter_pieces(input_path, out_dir: Path, groups, height, speed, pad: int):
    from exporters import TrcWriter
    from exporters.trc import frame_step
    from mocap.pipeline.chunks import TimeReader, TimeWriter

    with TimeReader(input_path, Keypoints3D.TIME_AXES) as reader:
        n_frames = reader.n_frames
        first = reader.read(0, min(2, n_frames))["frame_index"]
    target = out_dir / "pose3d_filtered.npz"
    writer = TimeWriter(target, "Keypoints3D", n_frames)
    trc, lows = None, []
    try:
        for padded, start, length in _with_context(input_path, pad):
            filtered = _cut(filter_keypoints(padded, groups[0], face=groups[1], hands=groups[2]), start,
                            start + length)
            writer.static = {"layout": filtered.layout, "fps": filtered.fps, "world_frame": filtered.world_frame,
                             "camera_names": filtered.camera_names}
            writer.append({f: getattr(filtered, f) for f in Keypoints3D.TIME_AXES}, Keypoints3D.TIME_AXES)
            if trc is None:
                trc = [TrcWriter(out_dir / _trc_name(p), n_frames, filtered.fps, first_frame=int(first[0]),
                                 step=frame_step(first)) for p in range(filtered.n_persons)]
            for p, w in enumerate(trc):
                w.write(filtered.xyz[:, p], filtered.frame_index)
            lows.append(foot_lows(filtered))
    except BaseException:
        writer.discard()
        for w in trc or ():
            w.discard()
        raise
    writer.close()
    for w in trc:
        w.close()
    # Contacts against one floor for the whole clip (the known one, or estimated from every frame).
    floor = floor_from_lows(np.concatenate(lows))
    contacts, frame_index, known = [], [], False
    for padded, start, length in _with_context(target, 1):
        found = foot_contacts(padded, height=height, speed=speed, floor=floor)
        contacts.append(found.contacts[start:start + length])
        frame_index.append(padded.frame_index[start:start + length])
        known, floor_used, fps = found.floor_known, found.floor, padded.fps
    contacts = np.concatenate(contacts)
    _save_contacts(out_dir, contacts, fps, np.concatenate(frame_index), floor_used, known)
    return contacts, known
