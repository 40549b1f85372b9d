"""Per-camera tracking: ids stay with people as they move, swap order, disappear and return."""

import numpy as np

from mocap.pose2d.tracking import Tracker, box_iou, keypoint_box


def test_box_iou_known_values():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    assert np.allclose(box_iou(a, b), [[50 / 150, 0, 1]])


def test_keypoint_box_ignores_unconfident_and_nan():
    xy = np.array([[[1, 2], [5, 9], [100, 100], [np.nan, np.nan]]], float)
    score = np.array([[0.9, 0.8, 0.1, 0.9]])
    assert np.allclose(keypoint_box(xy, score), [[1, 2, 5, 9]])
    assert np.isnan(keypoint_box(xy, np.zeros((1, 4)))).all()


def _person(x, y, k=5):
    xy = np.stack([x + np.arange(k) * 4.0, y + np.arange(k) * 10.0], -1)
    return np.array([x - 5, y - 5, x + 25, y + 50]), xy


def test_ids_follow_people_through_order_changes_and_gaps():
    tr = Tracker(max_age=5)
    seen = []
    for t in range(12):
        people = [_person(10 + 3 * t, 20), _person(200 - 2 * t, 40)]  # A moves right, B left
        if t % 2:                                                       # detector order flips
            people = people[::-1]
        if 5 <= t <= 6:                                                 # B missed for two frames
            people = [p for p in people if p[0][0] < 100]
        boxes = np.array([p[0] for p in people])
        xy = np.array([p[1] for p in people])
        ids = tr.update(boxes, xy, np.ones(xy.shape[:2]))
        seen.append({int(i): ("A" if b[0] < 100 else "B") for i, b in zip(ids, boxes)})
    ids_of = {}
    for frame in seen:
        for i, who in frame.items():
            ids_of.setdefault(who, set()).add(i)
    assert ids_of == {"A": {0}, "B": {1}}
    # a person appearing far from every track gets a new id
    boxes = np.array([[500, 500, 530, 560.0]])
    assert tr.update(boxes)[0] == 2
