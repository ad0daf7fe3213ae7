"""The depth-dependent blur renderer: every blur in depthfx goes through ``render_defocus``.

How it works (a layered, multi-resolution lens blur):

* Each pixel's signed circle of confusion (CoC) is mapped to a continuous *layer position*
  (:mod:`.layers`). Layers sit at radii 0, 1, 2, 2.5, 3.2, 4, 5, 6.3, 8 ... (three per
  octave above 2 px) on each side of the focal plane. A pixel between two layers is shared
  by both with weights that ramp over the middle half of the gap, so blur grows smoothly
  with depth (no banding) while most pixels, and so most point lights, get one clean
  aperture shape rather than two superimposed ones.
* The *fine* layers (|CoC| < 2 px, the in-focus subject) are rendered at full resolution.
  Every coarser layer is rendered at a reduced resolution proportional to its radius
  (half, quarter, ...), where its aperture kernel is only a few pixels wide
  (:mod:`.convolve`), and upsampled (:mod:`.resample`). The split between fine and coarse
  is made per full-resolution pixel before any downsampling, so sharp pixels never leak
  into blurred layers; among the coarse layers, membership is decided at half resolution
  (one level finer than the blur for the widest; :mod:`.sides`).
* Colour is premultiplied by coverage (and the image's alpha). A layer behind the focal
  plane is blurred with *normalized convolution* and extended under the nearer pixels that
  occlude it, with its own colour only: background hidden behind the subject is filled from
  the background, never from the subject (no halo, no colour bleeding).
* Layers are composited near over far. The blurred foreground (in front of the focal
  plane) is composited last over the sharp subject, which is first completed under the
  foreground by push-pull extrapolation, so the foreground's soft edge shows what is behind
  it instead of a dark or cut-out fringe.
* Highlights are boosted above a threshold before blurring (in linear light) and
  compressed back afterwards, so small bright lights bloom into bright aperture shapes
  (:mod:`.highlights`).

The renderer itself (:mod:`.renderer`) works in tiles and layers on the shared workers of
:mod:`depthfx._parallel`.
"""

from __future__ import annotations

from .layers import layer_position, layer_radius
from .renderer import render_defocus

__all__ = ["layer_position", "layer_radius", "render_defocus"]
