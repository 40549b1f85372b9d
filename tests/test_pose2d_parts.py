"""Face and hand crops around a body (mocap.pose2d.parts): the rotated-crop geometry, where the
crops go, hand world landmarks turned back to the image's axes, MediaPipe's pixel convention."""

import numpy as np
import pytest

from mocap.pose2d.crops import apply_affine, invert_affine, rotated_crop_matrices, warp_crops
from mocap.pose2d.parts import face_crops, hand_crops, hand_recrops
from mocap.skeleton import INDEX, N_KEYPOINTS


def test_rotated_crop_puts_up_on_top_and_maps_back_exactly():
    center, side, size = np.array([[300.0, 200.0]]), np.array([100.0]), 224
    for angle in (0, 30, 90, 200):
        a = np.deg2rad(angle)
        up = np.array([[np.sin(a), -np.cos(a)]])  # "up" turned clockwise by angle
        m = rotated_crop_matrices(center, side, up, size)
        ends = apply_affine(m, np.stack([center, center + 50 * up], 1))[0]
        np.testing.assert_allclose(ends[0], [(size - 1) / 2] * 2, atol=1e-9)     # centre -> crop centre
        np.testing.assert_allclose(ends[1], [(size - 1) / 2, (size - 1) / 2 - 50 * size / 100], atol=1e-9)
        pts = np.random.default_rng(angle).uniform(0, 500, (1, 9, 2))
        np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, pts)), pts, atol=1e-9)


def test_a_dot_lands_on_its_crop_pixel():
    """cv2.warpAffine and our matrices agree on pixel centres: a one-pixel dot at an image pixel
    whose crop position is a whole pixel lands exactly there."""
    img = np.zeros((200, 300, 3), np.uint8)
    img[120, 180] = 255
    m = rotated_crop_matrices(np.array([[150.5, 100.5]]), np.array([100.0]), np.array([[0.0, -1.0]]), 100)
    crop = warp_crops(img, m, (100, 100))[0]
    expect = apply_affine(m, np.array([[[180.0, 120.0]]]))[0, 0]
    assert np.allclose(expect, np.round(expect)) and crop[int(expect[1]), int(expect[0]), 0] == 255


def _body(wrist=(400.0, 500.0), elbow=(400.0, 600.0)):
    xy = np.full((1, N_KEYPOINTS, 2), np.nan)
    score = np.zeros((1, N_KEYPOINTS))
    pts = {"left_wrist": wrist, "left_elbow": elbow, "right_wrist": (200, 500), "right_elbow": (260, 580),
           "nose": (300, 200), "left_eye": (312, 190), "right_eye": (288, 190), "left_ear": (330, 200),
           "right_ear": (270, 200), "left_shoulder": (360, 300), "right_shoulder": (240, 300)}
    for k, p in pts.items():
        xy[0, INDEX[k]], score[0, INDEX[k]] = p, 0.9
    return xy, score


def test_hand_and_face_crops_follow_the_body():
    xy, score = _body()
    crops, wrist, length, valid = hand_crops(xy, score, side=1.1, offset=0.2)
    assert valid.all() and np.allclose(length, [100, 100])
    np.testing.assert_allclose(crops.up[0], [0, -1])                   # forearm points up: the hand too
    np.testing.assert_allclose(crops.center[0], [400, 480])            # 0.2 forearm beyond the wrist
    np.testing.assert_allclose(crops.side, [110, 110])
    np.testing.assert_allclose(crops.up[1], np.array([-60, -80]) / 100)  # right forearm points up-left
    turned = hand_crops(xy, score, turn=30.0)[0].up                    # mirrored turns for the two hands
    ang = np.degrees(np.arctan2(turned[:, 1], turned[:, 0]) - np.arctan2(crops.up[:, 1], crops.up[:, 0]))
    np.testing.assert_allclose((ang + 180) % 360 - 180, [30, -30], atol=1e-9)
    xy2, s2 = xy.copy(), score.copy()
    s2[0, INDEX["left_elbow"]] = 0.0                                   # no elbow: no left-hand crop
    assert hand_crops(xy2, s2)[3].tolist() == [False, True]
    face, ok = face_crops(xy, score)
    assert ok.all()
    np.testing.assert_allclose(face.center[0], [300, 196])             # mean of nose, eyes and ears
    assert face.side[0] == pytest.approx(max(2.0 * 60, 4.6 * 24, 2.6 * 30, 0.75 * 120))
    assert face.up[0, 1] < -0.99                                        # neck -> head is up


def test_hand_recrop_is_upright_along_the_hand_and_world_axes_turn_back():
    from mocap.pose2d.parts import world_to_image_axes

    hand = np.zeros((1, 21, 2))
    hand[0, :, 0] = 100 + np.arange(21)                                # a hand pointing right
    hand[0, :, 1] = 50
    rc = hand_recrops(hand)
    np.testing.assert_allclose(rc.up[0], [1, 0])
    m = rc.matrices(224)
    world = np.zeros((1, 21, 3))
    world[0, 9] = (0.0, -0.08, 0.01)                                   # 8 cm "up" in the crop
    back = world_to_image_axes(world, m)
    np.testing.assert_allclose(back[0, 9], [0.08, 0.0, 0.01], atol=1e-12)  # is 8 cm to the right in the image


def test_mediapipe_pixels_have_their_centres_at_integers():
    """MediaPipe's normalised x counts from the left edge: x_n * w - 0.5 is the pixel coordinate."""
    pytest.importorskip("mediapipe")
    from mediapipe.framework.formats import landmark_pb2

    from mocap.pose2d.mediapipe_backend import pose_to_133

    lms = landmark_pb2.NormalizedLandmarkList()
    for i in range(33):
        lm = lms.landmark.add()
        lm.x, lm.y, lm.visibility = (0.5, 0.25, 0.8) if i == 0 else (1.0, 1.0, 0.4)
    xyz, score = pose_to_133(lms)
    assert score[INDEX["nose"]] == pytest.approx(0.8) and score[INDEX["left_wrist"]] == pytest.approx(0.4)
    w, h = 640, 480
    px = xyz[:, :2] * (w, h) - 0.5
    np.testing.assert_allclose(px[INDEX["nose"]], [319.5, 119.5])       # the middle of the image row: (w - 1) / 2
    np.testing.assert_allclose(px[INDEX["left_wrist"]], [639.5, 479.5])  # the right edge
    assert np.isnan(xyz[INDEX["left_small_toe"]]).all() and score[INDEX["left_small_toe"]] == 0
