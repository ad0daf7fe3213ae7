"""depthfx studio: a local web page to pick a focus point or band by eye and export it.

The server (:mod:`.server`) is the standard library's, bound to 127.0.0.1 and guarded by a
random token; the page's controls are generated from the effects' option dataclasses
(:mod:`.controls`); what the page sends is checked by the same dataclasses and turned into
an effect chain, the equivalent command and its preset TOML (:mod:`.settings`); previews
are rendered on a downscaled copy by one worker where the latest request wins
(:mod:`.worker`, :mod:`.session`).
"""

from __future__ import annotations
