"""Fit SMPL-X (shape once, pose per frame) to one person's 3D keypoints, batched over frames.

Unknowns: ``betas`` (10, shared by every frame), and per frame ``global_orient``, ``body_pose``
(21 joints), both hands (15 joints each, full axis-angle), ``jaw_pose``, ``expression`` (10)
and ``transl``, in the keypoints' own world (Z up, metres: the global orientation absorbs
SMPL-X's Y-up canonical frame, as in AMASS).

Objective, per chunk of frames (all frames of a chunk are one batch):

    sum_k w_k |x_k(theta) - y_k|^2                    keypoints seen (NaN ones skipped)
    + smooth * sum_t |theta_t - theta_{t-1}|^2         temporal smoothness of every pose and transl
    + prior * |body_pose|^2 + prior_hands * |hands|^2  a Gaussian pose prior around the rest pose
    + prior_expr * |expression|^2 + prior_shape * |betas|^2

with ``x(theta)`` the fast keypoint function of :class:`mocap.smplx_fit.model.KeypointModel`
and weights ``w`` 1 for body, feet and hands, 0.3 for the face. The pose prior is the simple
zero-mean Gaussian (a learned prior such as VPoser is another licensed download); it matters
only for what keypoints do not see (the three spine joints' split of the trunk's bend).

Procedure:

1. start: every frame's global orientation and translation in closed form from the hip line
   and the trunk (the rotation taking SMPL-X's rest hip line and up axis onto the keypoints'),
   then down the tree each joint turned by the shortest arc onto its keypoints' bone direction
   (thighs, shins, feet, spine, neck, collars, arms, hands, every finger phalanx), from the
   model's own rest keypoints; twist is left to the solver;
2. first chunk: Levenberg-Marquardt on the torso's placement, then on the poses of up to 8 of
   its frames and the shared shape at once (:func:`_lm_with_shape`, a Schur complement on the
   shape block); shape is fitted once, there, and frozen;
3. every chunk: Levenberg-Marquardt per frame (all frames batched: one 172-column Jacobian
   block per frame by forward-mode autodiff, a trust region of 0.3 rad per step so a far-off
   start cannot jump a joint into another basin), then a few L-BFGS steps on the full objective
   with the temporal smoothness, joined to the previous chunk's last frame; jaw and expression
   are warm-started from that frame.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.data import Keypoints3D, SMPLXFit
from mocap.errors import InputFileError, SettingsError
from mocap.skeleton.wholebody import FACE, INDEX
from mocap.smplx_fit.model import KeypointModel, find_model, load_smplx

_TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")


def _rotvec(q: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) of unit quaternions (w, x, y, z)."""
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2 * np.arctan2(s, q[..., :1])
    return np.where(s > 1e-12, q[..., 1:] / np.where(s > 1e-12, s, 1.0) * angle, 2 * q[..., 1:])


def _quat(rotvec: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(rotvec, axis=-1)
    return rot.from_axis_angle(np.where(angle[..., None] > 1e-12, rotvec, [1.0, 0.0, 0.0]), angle)


def _initial_global(xyz: np.ndarray, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame global orientation (T, 3) and translation (T, 3) from hips and shoulders."""
    k = lambda n: xyz[:, INDEX[n]]  # noqa: E731
    hip_line = k("left_hip") - k("right_hip")
    mid_hip = 0.5 * (k("left_hip") + k("right_hip"))
    up = 0.5 * (k("left_shoulder") + k("right_shoulder")) - mid_hip
    rest_hip = rest_joints[1] - rest_joints[2]
    rest_mid = 0.5 * (rest_joints[1] + rest_joints[2])
    rest_up = 0.5 * (rest_joints[16] + rest_joints[17]) - rest_mid
    ok = np.isfinite(hip_line).all(-1) & np.isfinite(up).all(-1)
    if not ok.any():
        raise InputFileError("the keypoints never show both hips and both shoulders: SMPL-X cannot be placed")
    idx = np.maximum.accumulate(np.where(ok, np.arange(len(ok)), -1))
    idx[idx < 0] = np.argmax(ok)
    q = rot.from_two_axes(hip_line[idx], up[idx], rest_hip, rest_up)
    q = rot.make_continuous(q)
    transl = mid_hip[idx] - (rot.rotate(q, rest_mid - rest_joints[0]) + rest_joints[0])
    return _rotvec(q), transl


# SMPL-X joint -> (from keypoint(s), to keypoint(s)): the bone direction each joint's initial
# rotation aims along. Joints not listed start unrotated relative to their parent.
def _aims():
    mid_hip, mid_sh, mid_ear = ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_ear", "right_ear")
    aims = {3: (mid_hip, mid_sh), 12: (mid_sh, mid_ear)}
    for s, d in (("left", 0), ("right", 1)):
        h = f"{s}_hand_"
        aims.update({1 + d: ((f"{s}_hip",), (f"{s}_knee",)), 4 + d: ((f"{s}_knee",), (f"{s}_ankle",)),
                     7 + d: ((f"{s}_ankle",), (f"{s}_big_toe",)), 13 + d: (mid_sh, (f"{s}_shoulder",)),
                     16 + d: ((f"{s}_shoulder",), (f"{s}_elbow",)), 18 + d: ((f"{s}_elbow",), (f"{s}_wrist",)),
                     20 + d: ((f"{s}_wrist",), (h + "middle1",))})
        for finger, base in (("index", 25), ("middle", 28), ("pinky", 31), ("ring", 34), ("thumb", 37)):
            for k in range(3):
                aims[base + 15 * d + k] = ((h + f"{finger}{k + 1}",), (h + f"{finger}{k + 2}",))
    return aims


def _initial_pose(xyz, rest_kp, parents, global_q):
    """(T, 55, 3) axis-angle start: every listed joint's bone turned onto its keypoints' direction
    by the shortest arc from where its parent carries it, down the tree (twist is left to the
    fit). Unseen directions keep the parent's frame."""
    T = xyz.shape[0]
    mean = lambda a, names: np.mean([a[..., INDEX[n], :] for n in names], axis=0)  # noqa: E731
    world = np.zeros((T, 55, 4))
    world[:, 0] = global_q
    aims = _aims()
    for j in range(1, 55):
        parent = world[:, parents[j]]
        world[:, j] = parent
        if j not in aims:
            continue
        a, b = aims[j]
        rest_dir = mean(rest_kp, b) - mean(rest_kp, a)
        target = mean(xyz, b) - mean(xyz, a)
        ok = np.isfinite(target).all(-1) & (np.linalg.norm(np.nan_to_num(target), axis=-1) > 1e-9)
        carried = rot.rotate(parent, rest_dir)
        safe = np.where(ok[:, None], target, carried)
        world[:, j] = rot.multiply(rot.rotation_between(carried, safe), parent)
    local = np.concatenate([world[:, :1], rot.multiply(rot.conjugate(world[:, parents[1:]]), world[:, 1:])], 1)
    return _rotvec(local)


def fit_smplx(kp: Keypoints3D, model_path=None, *, person: int = 0, gender: str = "neutral", chunk: int = 50,
              lm_iterations: int = 30, shape_iterations: int = 40, smooth: float = 1e-5, smooth_iterations: int = 20,
              prior: float = 1e-6, prior_hands: float = 1e-7, prior_expr: float = 1e-7, prior_shape: float = 1e-7,
              progress: bool = False) -> SMPLXFit:
    """Fit SMPL-X to ``kp``'s person ``person``; see the module doc. ``model_path``: the SMPL-X
    ``.npz`` (or a folder with ``SMPLX_<GENDER>.npz``), else $MOCAP_SMPLX_MODEL."""
    import torch

    if not 0 <= person < kp.n_persons:
        raise SettingsError(f"person {person} does not exist: the keypoints hold {kp.n_persons} person(s)")
    path = find_model(model_path, gender)
    # The problem is many small tensors: thread hand-offs cost more than they save (10-50x slower
    # with 2 threads on a busy 2-core machine), so fit on one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(kp, path, person, gender, chunk, lm_iterations, shape_iterations, smooth, smooth_iterations, prior,
                    prior_hands, prior_expr, prior_shape, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(kp, path, person, gender, chunk, lm_iterations, shape_iterations, smooth, smooth_iterations, prior, prior_hands,
         prior_expr, prior_shape, progress):
    import torch

    body = load_smplx(path, gender=gender)
    body = body.double()
    km = KeypointModel(body)
    xyz = kp.xyz[:, person]
    T = xyz.shape[0]
    rest = (km.J_template).detach().numpy()
    go0, tr0 = _initial_global(xyz, rest)

    kp_index = km.kp_index.numpy()
    target = xyz[:, kp_index]
    seen = np.isfinite(target).all(-1)
    w = np.where((kp_index >= FACE.start) & (kp_index < FACE.stop), 0.3, 1.0)
    torso = np.isin(kp_index, [INDEX[n] for n in _TORSO])
    target_t = torch.as_tensor(np.nan_to_num(target), dtype=torch.float64)
    weight_t = torch.as_tensor(seen * w, dtype=torch.float64)
    torso_t = torch.as_tensor(torso, dtype=torch.float64)

    f64 = dict(dtype=torch.float64)
    P = 172
    # Square roots of the prior weights, per parameter of theta (see KeypointModel.flat).
    prior_vec = torch.cat([torch.zeros(3), torch.full((63,), prior), torch.full((90,), prior_hands),
                           torch.full((3,), prior), torch.full((10,), prior_expr), torch.zeros(3)]).double().sqrt()
    with torch.no_grad():  # rest keypoints (canonical frame) for the bone directions
        zero = torch.zeros(1, P, **f64)
        rest_kp = np.full((133, 3), np.nan)
        rest_kp[kp_index] = km.flat(torch.zeros(1, 10, **f64), zero)[0].numpy()
    pose0 = _initial_pose(xyz, rest_kp, km.parents.numpy(), _quat(go0))
    theta = np.zeros((T, P))
    theta[:, :3], theta[:, -3:] = go0, tr0
    theta[:, 3:66] = pose0[:, 1:22].reshape(T, -1)
    theta[:, 66:156] = pose0[:, 25:55].reshape(T, -1)
    theta_t = torch.as_tensor(theta, **f64)
    betas = torch.zeros(1, 10, **f64)
    sqrt_w = weight_t.sqrt()

    def residuals(th, b, y, sw, pose_correctives=True):
        """(B, R) weighted keypoint residuals and prior residuals."""
        x = km.flat(b, th, pose_correctives)
        return torch.cat([(sw[..., None] * (x - y)).reshape(th.shape[0], -1), prior_vec * th], 1)

    previous = None  # last frame of the previous chunk: warm start and smoothness anchor
    starts = list(range(0, T, chunk))
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="SMPL-X fit", unit="chunk")
    for a in starts:
        b = min(T, a + chunk)
        y, sw = target_t[a:b], sqrt_w[a:b]
        th = theta_t[a:b].clone()
        if previous is not None:
            th[:, 156:169] = previous[156:169]  # warm start: jaw and expression where the last chunk ended
        if a == 0:
            # Place and orient the body by its torso, then fit the shape with the pose.
            torso_w = sw * torso_t.sqrt()
            th = _lm(residuals, th, betas, y, torso_w, lm_iterations, cols=np.r_[0:3, 169:172])
            # The shape from up to 8 frames spread over the chunk: enough views of every bone, at a
            # fraction of the cost of the joint pose-and-shape solve over all of them.
            pick = torch.as_tensor(np.unique(np.linspace(0, b - a - 1, min(b - a, 8)).round().astype(int)))
            th_pick, betas = _lm_with_shape(residuals, th[pick], betas, y[pick], sw[pick], shape_iterations,
                                            prior_shape)
            th[pick] = th_pick
        th = _lm(residuals, th, betas, y, sw, lm_iterations)
        if smooth > 0:
            th = _smooth(km, th, betas, y, sw, prior_vec, smooth, previous, smooth_iterations)
        theta_t[a:b] = th
        previous = th[-1]
    theta = theta_t.numpy()
    out = dict(zip(("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose", "expression",
                    "transl"), np.split(theta, np.cumsum([3, 63, 45, 45, 3, 10])[:], axis=1)))
    return SMPLXFit(betas=betas.numpy()[0], gender=gender, fps=kp.fps, **out)


def _lm(residuals, th, betas, y, sw, iterations, cols=None):
    """Levenberg-Marquardt on every frame at once (frames are independent given the shape).

    The Jacobian (one 172-column block per frame, forward-mode autodiff vmapped over frames)
    leaves out the pose blend shapes, which move keypoints by millimetres and cost much of it;
    residuals and the acceptance test stay exact, so a step is only taken when it truly lowers
    the cost (the steps are slightly less than Newton's near the optimum). With ``cols`` only
    those columns of theta move.
    """
    import torch

    cols = np.arange(th.shape[1]) if cols is None else np.asarray(cols)
    cols_t = torch.as_tensor(cols)

    def one(sub, full, yy, ww):
        f = full.clone()
        f[cols_t] = sub
        return residuals(f[None], betas, yy[None], ww[None], pose_correctives=False)[0]

    jac = torch.func.vmap(torch.func.jacfwd(one), in_dims=(0, 0, 0, 0))
    lam = torch.full((th.shape[0], 1, 1), 1e-2, dtype=th.dtype)
    r = residuals(th, betas, y, sw)
    cost = (r ** 2).sum(1)
    for _ in range(iterations):
        J = jac(th[:, cols_t], th, y, sw)  # (B, R, C)
        JtJ = J.transpose(1, 2) @ J
        g = J.transpose(1, 2) @ r[..., None]
        # Marquardt's scaling, floored so parameters the keypoints do not see (a straight limb's
        # twist) still get damped rather than an arbitrary step.
        d = torch.diagonal(JtJ, dim1=1, dim2=2)
        d = torch.maximum(d, 1e-3 * d.mean(1, keepdim=True))
        step = torch.linalg.solve(JtJ + lam * torch.diag_embed(d), -g)[..., 0]
        # A trust region: no angle moves more than ~17° per step, so a far-off start cannot jump
        # a joint into another basin (a foot turned backwards fits its three points too).
        step = step * (0.3 / step.abs().amax(1, keepdim=True).clamp_min(0.3))
        trial = th.clone()
        trial[:, cols_t] += step
        r_new = residuals(trial, betas, y, sw)
        cost_new = (r_new ** 2).sum(1)
        better = cost_new < cost
        # Converged frames: a full-size step (small damping) that no longer improves anything.
        done = better & ((cost - cost_new) < 1e-9 * cost + 1e-16) & (lam[:, 0, 0] < 1.0)
        th = torch.where(better[:, None], trial, th)
        r = torch.where(better[:, None], r_new, r)
        cost = torch.where(better, cost_new, cost)
        lam = torch.where(better[:, None, None], lam / 3, lam * 4).clamp(1e-9, 1e9)
        if bool(done.all()):
            break
    return th


def _lm_with_shape(residuals, th, betas, y, sw, iterations, prior_shape):
    """Levenberg-Marquardt on the poses of every frame *and* the shared shape at once.

    The normal equations have an arrow shape: a 172 x 172 block per frame (A_t), the frame's
    coupling to the 10 shape parameters (B_t) and the shape block (C, summed over frames). The
    shape step comes from the Schur complement S = C - sum B_t^T A_t^-1 B_t, then each frame's
    step from its own block: the cost is linear in the number of frames. One damping factor for
    the whole chunk, since the shape ties the frames together.
    """
    import torch

    n, P = th.shape

    def one(ext, yy, ww):
        return residuals(ext[None, :P], ext[None, P:], yy[None], ww[None], pose_correctives=False)[0]

    jac = torch.func.vmap(torch.func.jacfwd(one))
    shape_w = float(np.sqrt(prior_shape * n))

    def total(t, b):
        return (residuals(t, b, y, sw) ** 2).sum() + (shape_w * b).pow(2).sum()

    lam, cost = 1e-2, total(th, betas)
    for _ in range(iterations):
        ext = torch.cat([th, betas.expand(n, -1)], 1)
        J = jac(ext, y, sw)  # (n, R, P + 10)
        r = residuals(th, betas, y, sw)
        Jt, Jb = J[..., :P], J[..., P:]
        A = Jt.transpose(1, 2) @ Jt
        Bm = Jt.transpose(1, 2) @ Jb
        C = (Jb.transpose(1, 2) @ Jb).sum(0) + shape_w ** 2 * torch.eye(10, dtype=th.dtype)
        ga = -(Jt.transpose(1, 2) @ r[..., None])[..., 0]
        gb = -(Jb.transpose(1, 2) @ r[..., None])[..., 0].sum(0) - shape_w ** 2 * betas[0]
        d = torch.diagonal(A, dim1=1, dim2=2)
        d = torch.maximum(d, 1e-3 * d.mean(1, keepdim=True))
        Ad = A + lam * torch.diag_embed(d)
        Ai_B = torch.linalg.solve(Ad, Bm)
        Ai_g = torch.linalg.solve(Ad, ga[..., None])[..., 0]
        Cd = C + lam * torch.diag(torch.diagonal(C))
        S = Cd - (Bm.transpose(1, 2) @ Ai_B).sum(0)
        db = torch.linalg.solve(S, gb - (Bm.transpose(1, 2) @ Ai_g[..., None])[..., 0].sum(0))
        dt = Ai_g - (Ai_B @ db)
        scale = 0.3 / max(0.3, float(dt.abs().max()), float(db.abs().max()))
        t_new, b_new = th + scale * dt, betas + scale * db[None]
        c_new = total(t_new, b_new)
        if c_new < cost:
            converged = cost - c_new < 1e-9 * cost and lam < 1.0  # (not a tiny step of a large damping)
            th, betas, cost, lam = t_new, b_new, c_new, max(lam / 3, 1e-9)
            if converged:
                break
        else:
            lam = min(lam * 4, 1e9)
    return th, betas


def _smooth(km, th, betas, y, sw, prior_vec, smooth, previous, iterations):
    """L-BFGS on the chunk's full objective, temporal smoothness included (from the LM optimum)."""
    import torch

    th = th.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([th], lr=1.0, max_iter=iterations, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        x = km.flat(betas, th)
        loss = ((sw[..., None] * (x - y)) ** 2).sum() + ((prior_vec * th) ** 2).sum()
        seq = torch.cat([previous[None], th]) if previous is not None else th
        loss = loss + smooth * ((seq[1:] - seq[:-1]) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return th.detach()


def fit_keypoints(fit: SMPLXFit, model_path=None) -> np.ndarray:
    """The 133 keypoints (T, 133, 3) of a fit (NaN where SMPL-X has no counterpart)."""
    import torch

    body = load_smplx(find_model(model_path, fit.gender), gender=fit.gender).double()
    km = KeypointModel(body)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        x = km(t(fit.betas[None]), t(fit.global_orient), t(fit.body_pose), t(fit.left_hand_pose),
               t(fit.right_hand_pose), t(fit.jaw_pose), t(fit.expression), t(fit.transl)).numpy()
    out = np.full((fit.n_frames, 133, 3), np.nan)
    out[:, km.kp_index.numpy()] = x
    return out
