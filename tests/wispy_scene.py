"""A wispy near subject over a textured far background, with the blob depth real maps give.

A dense bright core with many thin bright fibres (1-2 px) reaching out over a darker,
strongly textured background; the depth map marks the whole silhouette near, closed and
dilated into a blob, as stereo and monocular depth do. The true matte (each pixel's share
of the subject) is known, so tests can tell fibres from the background seen between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

NEAR = 1.0
FAR = 0.2


@dataclass(frozen=True)
class WispyScene:
    image: np.ndarray  # (H, W, 3) float32 linear
    nearness: np.ndarray  # (H, W) the blob depth: NEAR over the closed, dilated silhouette
    matte: np.ndarray  # (H, W) true share of the subject in each pixel
    centre: tuple[int, int]  # (x, y) of the core

    @property
    def between_fibres(self) -> np.ndarray:
        """Background pixels inside the depth blob at least 2 px from any fibre."""
        subject = (self.matte > 0.0).astype(np.uint8)
        near_fibre = cv2.dilate(subject, np.ones((5, 5), np.uint8)) > 0
        return (self.nearness >= NEAR) & ~near_fibre

    @property
    def fibres(self) -> np.ndarray:
        """Pixels wholly covered by a fibre, outside the dense core."""
        yy, xx = np.mgrid[0 : self.matte.shape[0], 0 : self.matte.shape[1]]
        outside_core = np.hypot(xx - self.centre[0], yy - self.centre[1]) > _CORE_RADIUS + 2
        return (self.matte >= 0.99) & outside_core

    @property
    def surrounding_background(self) -> np.ndarray:
        """Background outside the blob, within 24 px of it."""
        blob = (self.nearness >= NEAR).astype(np.uint8)
        ring = cv2.dilate(blob, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (49, 49))) > 0
        return ring & (blob == 0)


_CORE_RADIUS = 36


def wispy_scene(size: int = 256, *, seed: int = 0) -> WispyScene:
    """The scene at ``size`` x ``size`` pixels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    # Strongly textured dark background: fine noise with a coarser pattern.
    fine = rng.random((size, size, 3)).astype(np.float32)
    coarse = cv2.resize(rng.random((size // 8, size // 8, 3)).astype(np.float32), (size, size))
    background = np.clip(0.04 + 0.22 * fine * (0.5 + coarse), 0.0, 1.0)
    # Matte drawn at 4x and averaged down: anti-aliased fibres 1-2 px wide.
    scale = 4
    big = np.zeros((size * scale, size * scale), np.uint8)
    cx, cy = size // 2, size // 2
    cv2.circle(big, (cx * scale, cy * scale), _CORE_RADIUS * scale, 255, -1)
    for angle in np.linspace(0.0, 2 * np.pi, 80, endpoint=False) + rng.uniform(0, 0.05, 80):
        length = _CORE_RADIUS + rng.uniform(8, 16)
        bend = rng.uniform(-0.25, 0.25)
        points = []
        for step in np.linspace(_CORE_RADIUS - 4, length, 24):
            a = angle + bend * (step - _CORE_RADIUS) / 16
            points.append(((cx + step * np.cos(a)) * scale, (cy + step * np.sin(a)) * scale))
        width = int(rng.choice([4, 5, 6]))  # 1 to 1.5 px at the final size
        cv2.polylines(big, [np.int32(points)], False, 255, width)
    matte = cv2.resize(big.astype(np.float32) / 255.0, (size, size), interpolation=cv2.INTER_AREA)
    subject = np.array([0.9, 0.85, 0.75], np.float32) * (
        0.9 + 0.1 * rng.random((size, size, 1)).astype(np.float32)
    )
    image = matte[:, :, None] * subject + (1.0 - matte[:, :, None]) * background
    silhouette = (matte > 0.25).astype(np.uint8)
    closed = cv2.morphologyEx(
        silhouette, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    )
    blob = cv2.dilate(closed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    nearness = np.where(blob > 0, NEAR, FAR).astype(np.float32)
    return WispyScene(image.astype(np.float32), nearness, matte, (cx, cy))
