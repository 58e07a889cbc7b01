"""Multi-level foreground estimation in numpy: the reference the C++ (src/imaging/foreground.cpp)
is checked against.

T. Germer, T. Uelwer, S. Conrad, S. Harmeling, "Fast Multi-Level Foreground Estimation", ICPR 2020
(arXiv:2006.14970), written from the paper, not from pymatting (which is not packaged here). For
alpha a, image I (both in [0, 1]) and each colour channel, F and B minimise

    sum_i (a_i F_i + (1 - a_i) B_i - I_i)^2 + sum_i sum_{j in N4(i)} w_ij ((F_i - F_j)^2 + (B_i - B_j)^2)
    w_ij = eps + omega * |a_i - a_j|

Each sweep solves every pixel's 2x2 system with its neighbours held fixed:

    [a^2 + W    a(1-a)    ] [F]   [a I     + sum_j w_ij F_j]
    [a(1-a)     (1-a)^2 + W] [B] = [(1-a) I + sum_j w_ij B_j],   W = sum_j w_ij

then clamps to [0, 1]; coarse to fine over a pyramid, each level starting from the coarser one's F
and B upsampled by nearest neighbour. The same choices as the C++ (foreground.hpp): halving levels
down to 1 x 1 sampling the centre of each 2^k block, red-black sweeps, neighbours outside the
image left out, the coarsest level's F = B = its colour. Unlike the C++ it always sweeps whole
levels (no band), in float32 with whole-array operations: slow is fine, it is for small images.
"""
import numpy as np

DEFAULTS = dict(small_size=32, small_iterations=10, big_iterations=2, regularization=1e-5,
                gradient_weight=1.0)


def _sample_indices(n, k):
    """Full-size indices that level k's pixels sample: the centre of each 2^k block."""
    size = (n + (1 << k) - 1) >> k
    return np.minimum((np.arange(size) << k) + ((1 << k) >> 1), n - 1)


def estimate_foreground(image, alpha, small_size=32, small_iterations=10, big_iterations=2,
                        regularization=1e-5, gradient_weight=1.0, return_background=False):
    """image: HxWx3 uint8 (any channel order, kept); alpha: HxW uint8. Returns F as HxWx3 float32 in
    [0, 1] (and B when return_background)."""
    image = np.asarray(image)
    alpha = np.asarray(alpha)
    h, w = alpha.shape
    levels = 1
    while max((w + (1 << (levels - 1)) - 1) >> (levels - 1), (h + (1 << (levels - 1)) - 1) >> (levels - 1)) > 1:
        levels += 1
    F = B = None
    for k in range(levels - 1, -1, -1):
        ys, xs = _sample_indices(h, k), _sample_indices(w, k)
        a = (alpha[np.ix_(ys, xs)].astype(np.float32) / np.float32(255))
        colour = image[np.ix_(ys, xs)].astype(np.float32) / np.float32(255)
        lh, lw = a.shape
        if F is None:  # the coarsest level, 1 x 1
            F, B = colour.copy(), colour.copy()
        else:  # nearest-neighbour upsampling from the coarser level
            F = F[np.ix_(np.arange(lh) >> 1, np.arange(lw) >> 1)].copy()
            B = B[np.ix_(np.arange(lh) >> 1, np.arange(lw) >> 1)].copy()
        if lh * lw == 1:
            continue
        iterations = small_iterations if max(lh, lw) <= small_size else big_iterations
        eps, omega = np.float32(regularization), np.float32(gradient_weight)
        # Neighbour weights: left, right, up, down; 0 outside the image.
        weights = np.zeros((4, lh, lw), np.float32)
        weights[0][:, 1:] = eps + omega * np.abs(a[:, 1:] - a[:, :-1])
        weights[1][:, :-1] = eps + omega * np.abs(a[:, :-1] - a[:, 1:])
        weights[2][1:, :] = eps + omega * np.abs(a[1:, :] - a[:-1, :])
        weights[3][:-1, :] = eps + omega * np.abs(a[:-1, :] - a[1:, :])
        W = weights[0] + weights[1] + weights[2] + weights[3]
        a00 = a * a + W
        a11 = (1 - a) * (1 - a) + W
        a01 = a * (1 - a)
        det = a00 * a11 - a01 * a01
        p, q, r = a11 / det, a01 / det, a00 / det
        aI = a[..., None] * colour
        bI = (1 - a)[..., None] * colour
        parity = (np.arange(lh)[:, None] + np.arange(lw)[None, :]) & 1

        def neighbour_sum(X):
            s = np.zeros_like(X)
            s[:, 1:] += weights[0][:, 1:, None] * X[:, :-1]
            s[:, :-1] += weights[1][:, :-1, None] * X[:, 1:]
            s[1:, :] += weights[2][1:, :, None] * X[:-1, :]
            s[:-1, :] += weights[3][:-1, :, None] * X[1:, :]
            return s

        for _ in range(iterations):
            for colour_of_sweep in (0, 1):
                b0 = aI + neighbour_sum(F)
                b1 = bI + neighbour_sum(B)
                newF = np.clip(p[..., None] * b0 - q[..., None] * b1, 0, 1)
                newB = np.clip(r[..., None] * b1 - q[..., None] * b0, 0, 1)
                sel = parity == colour_of_sweep
                F[sel] = newF[sel]
                B[sel] = newB[sel]
    return (F, B) if return_background else F


def to_uint8(F):
    return np.floor(F * 255 + 0.5).astype(np.uint8)
