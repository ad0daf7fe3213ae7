"""Presets shipped with depthfx (installed as the package ``depthfx._presets``)."""
