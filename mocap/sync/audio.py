"""Audio synchronization: the cameras' sound tracks, aligned by phase-transform cross-correlation.

Each video's first audio track is decoded with PyAV (``av``) and resampled to mono at ``RATE``
(8 kHz: a sample is 1/266 of a frame at 30 fps, and frequencies above 4 kHz add little to a time
delay), and placed on the video's own clock: its first sample plays at ``audio_start`` seconds
after the video's first frame (containers often start the tracks apart). Every pair is aligned
by :func:`~mocap.sync.correlate.gcc_phat` over lags that keep ``min_overlap`` of the shorter track,
the peak picked with an exclusion of half a frame (room echoes land within milliseconds of the
direct sound and must not count as a rival), and the lags made consistent by
:func:`~mocap.sync.correlate.combine_pairs`. A lag of ``l`` samples means frames
``fps * (l / RATE + audio_start_j - audio_start_i)`` apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError
from mocap.sync.correlate import PairLag, combine_pairs, gcc_phat, overlap_of, pick_peak

RATE = 8000
MAX_SECONDS = 600.0  # of sound read per track: offsets are found well within the first ten minutes


@dataclass(frozen=True)
class AudioTrack:
    samples: np.ndarray  # (N,) float32 mono at RATE
    start: float  # seconds of the first sample after the video's first frame


def _open(path: Path):
    import av

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputFileError(f"cannot open the file to read its audio ({exc})", path) from None


def has_audio(path: str | os.PathLike) -> bool:
    """Whether the file has an audio track (False also for a file PyAV cannot open)."""
    try:
        with _open(Path(path)) as container:
            return bool(container.streams.audio)
    except InputFileError:
        return False


def read_audio(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> AudioTrack:
    """The first audio track of a video, mono at RATE, on the video's clock (module doc).

    Raises InputFileError naming the file when it has no audio track or cannot be decoded.
    """
    import av

    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise InputFileError("has no audio track; audio sync needs one in every video "
                                 "(use --method timestamps or motion)", path)
        stream = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        video_start = float(video.start_time * video.time_base) if video is not None and video.start_time is not None \
            else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks, first, total = [], None, 0
        try:
            for frame in container.decode(stream):
                if first is None:
                    first = float(frame.time) if frame.time is not None else video_start
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total >= max_seconds * RATE:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise InputFileError(f"cannot decode its audio track ({exc})", path) from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if len(samples) < RATE // 10:
        raise InputFileError(f"its audio track holds {len(samples) / RATE:.2f} s of sound; audio sync needs more",
                             path)
    return AudioTrack(samples[:int(max_seconds * RATE)], (first if first is not None else video_start) - video_start)


def audio_offsets(tracks: list[AudioTrack], fps: float, *, reference: int = 0, min_overlap: float = 0.5,
                  max_lag_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets in frames (o[reference] = 0) and per-camera confidences (module doc)."""
    exclude = max(1, int(RATE / fps / 2))
    pairs = []
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            a, b = tracks[i], tracks[j]
            lags, value = gcc_phat(a.samples, b.samples)
            overlap = overlap_of(len(a.samples), len(b.samples))
            allowed = overlap >= min_overlap * min(len(a.samples), len(b.samples))
            if max_lag_s is not None:
                allowed &= np.abs(lags / RATE + b.start - a.start) <= max_lag_s
            peak = pick_peak(lags, value, allowed, exclude=exclude)
            pairs.append(PairLag(i, j, fps * (peak.lag / RATE + b.start - a.start), peak.confidence))
    return combine_pairs(len(tracks), pairs, reference)
