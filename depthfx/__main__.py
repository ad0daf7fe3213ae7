"""``python -m depthfx``: the command line."""

from depthfx.cli import main

main()
