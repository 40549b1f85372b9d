"""MediaPipe's bundled hand and face-mesh landmark models, run on crops we cut ourselves.

``mediapipe==0.10.21`` ships the TFLite landmark models its solutions use
(``modules/hand_landmark/hand_landmark_full.tflite``, ``modules/face_landmark/face_landmark.tflite``),
but its solution APIs only take whole images and find the hands and faces themselves (a palm or
face detector first). Here each model runs alone in a small MediaPipe graph: the crop (already
``S x S``, RGB) becomes a float tensor in [0, 1], the TFLite model runs (XNNPACK on the CPU), and
every output tensor comes back as a flat float vector. The geometry (where to crop, how to map
back) is ours (:mod:`mocap.pose2d.parts`).

Outputs, decoded by :meth:`LandmarkModel.hands` / :meth:`LandmarkModel.faces`:

* hand (224 x 224): 21 landmarks x, y, z in crop pixels (x, y measured from the crop's top-left
  *edge*, so the pixel-centre coordinate is ``x - 0.5``); the hand-presence probability; the
  handedness probability (of the "right" label of a *mirrored* image, i.e. of the person's
  **left** hand on an ordinary camera image); 21 world landmarks in metres about the hand's
  centre, in the crop's axes.
* face (192 x 192): 468 face-mesh landmarks x, y, z in crop pixels (edge convention as above)
  and a face-presence logit (a sigmoid makes it a probability).
"""

from __future__ import annotations

import numpy as np

from mocap.errors import SettingsError

HAND_MODEL = "mediapipe/modules/hand_landmark/hand_landmark_full.tflite"
FACE_MODEL = "mediapipe/modules/face_landmark/face_landmark.tflite"
HAND_SIZE, FACE_SIZE = 224, 192


def _graph(model_path: str, size: int, n_outputs: int) -> str:
    """Text CalculatorGraphConfig: image -> tensor -> TFLite -> one float vector per output."""
    outs = "".join(f'output_stream: "out{i}"\n' for i in range(n_outputs))
    splits = "".join(f'output_stream: "split{i}" ' for i in range(n_outputs))
    ranges = "".join(f"ranges {{ begin: {i} end: {i + 1} }} " for i in range(n_outputs))
    floats = "".join(f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:split{i}" '
                     f'output_stream: "FLOATS:out{i}" }}\n' for i in range(n_outputs))
    return f"""
input_stream: "image"
{outs}
node {{
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:input"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
    output_tensor_width: {size} output_tensor_height: {size} keep_aspect_ratio: false
    output_tensor_float_range {{ min: 0.0 max: 1.0 }} }} }}
}}
node {{
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input"
  output_stream: "TENSORS:output"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{model_path}" delegate {{ xnnpack {{}} }} }} }}
}}
node {{
  calculator: "SplitTensorVectorCalculator"
  input_stream: "output"
  {splits}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {ranges} }} }}
}}
{floats}"""


class LandmarkModel:
    """One bundled landmark model (``kind`` "hand" or "face") as a callable on square RGB crops."""

    def __init__(self, kind: str):
        try:
            from mediapipe.python.solution_base import SolutionBase
        except ImportError as exc:
            raise SettingsError("hand and face crops need `pip install mediapipe==0.10.21` "
                                "(the `mediapipe` extra)") from exc
        if kind == "hand":
            self.size, self.n_outputs, path = HAND_SIZE, 4, HAND_MODEL
        elif kind == "face":
            self.size, self.n_outputs, path = FACE_SIZE, 2, FACE_MODEL
        else:
            raise ValueError(f"unknown landmark model {kind!r}")
        self.kind = kind
        self._graph = SolutionBase(graph_config=_graph(path, self.size, self.n_outputs))

    def run(self, crops: np.ndarray) -> list[np.ndarray]:
        """(N, S, S, 3) uint8 RGB crops -> one (N, length) float array per model output."""
        outs = [[] for _ in range(self.n_outputs)]
        for crop in crops:  # the graph takes one image per call; each call is a few milliseconds
            result = self._graph.process(np.ascontiguousarray(crop))
            for i in range(self.n_outputs):
                outs[i].append(np.asarray(getattr(result, f"out{i}"), dtype=np.float64))
        return [np.stack(o) if o else np.zeros((0, 0)) for o in outs]

    def hands(self, crops: np.ndarray):
        """Hand crops -> ``xy`` (N, 21, 2) crop pixels (pixel centres at integers), ``presence`` (N,),
        ``left`` (N,) probability that it is the person's left hand, ``world`` (N, 21, 3) metres
        in the crop's axes."""
        lm, presence, handed, world = self.run(crops) if len(crops) else [np.zeros((0, 63)), np.zeros((0, 1)),
                                                                           np.zeros((0, 1)), np.zeros((0, 63))]
        xy = lm.reshape(-1, 21, 3)[..., :2] - 0.5
        return xy, presence[:, 0], handed[:, 0], world.reshape(-1, 21, 3)

    def faces(self, crops: np.ndarray):
        """Face crops -> ``xy`` (N, 468, 2) crop pixels (pixel centres at integers), ``presence`` (N,)."""
        lm, flag = self.run(crops) if len(crops) else [np.zeros((0, 1404)), np.zeros((0, 1))]
        return lm.reshape(-1, 468, 3)[..., :2] - 0.5, 1.0 / (1.0 + np.exp(-flag[:, 0]))

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None
