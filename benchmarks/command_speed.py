"""What a user waits for: each effect command as a whole process, beside the codec process.

Run: ``python benchmarks/command_speed.py [--sizes 3,12,24] [--rounds 3] [--only bokeh,fog]``.

For each size, a JPEG photo (the Fujifilm MPO's left frame resized, or a synthetic one
without ``../shared/data``) and a 16-bit PNG depth map of the same size are written to a
temporary folder. Each round runs, as separate processes and interleaved (in an order
rotated from round to round):

- the yardstick, ``python -c "import cv2; a = cv2.imread(photo); cv2.imwrite(out, a)"``;
- ``depthfx bokeh|fog|miniature|layers`` on the photo (with ``--depth`` where used);
- ``depthfx --help``.

The bytecode of the depthfx package is compiled first, as ``pip install`` does. Prints the
median wall time of the rounds with its spread (min-max), the ratio to the
codec process's median, and the peak resident memory of each process (``ru_maxrss`` of
``/usr/bin/time -f %M``). Render-only figures (the effect inside a
warm process) come from ``bokeh_speed.py``, ``fog_speed.py`` and ``miniature_speed.py``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_baselines import source_photo

# Width x height for each size in megapixels (12 MP is the 4000x3311).
SIZES = {3: (2000, 1656), 12: (4000, 3311), 24: (5657, 4683)}
# Goals at 12 MP, as a multiple of the codec process (issue 15).
GOALS = {"bokeh": 5.0, "fog": 3.0, "miniature": 3.5, "layers": 8.0}
HELP_GOAL_S = 0.25
TIME = Path("/usr/bin/time")


def synthetic_nearness(shape: tuple[int, int]) -> np.ndarray:
    """A receding ground with near blobs, 0..1 (only the timing matters)."""
    height, width = shape
    rows = np.linspace(0.05, 0.7, height, dtype=np.float32)[:, None]
    nearness = np.repeat(rows, width, axis=1)
    for index in range(6):
        centre = (int(width * (0.15 + 0.14 * index)), int(height * (0.4 + 0.08 * index)))
        cv2.circle(nearness, centre, int(height * 0.08), float(0.75 + 0.04 * index), -1)
    return nearness


def write_inputs(folder: Path, size_mp: int) -> tuple[Path, Path]:
    width, height = SIZES[size_mp]
    photo = folder / f"photo_{size_mp}mp.jpg"
    depth = folder / f"depth_{size_mp}mp.png"
    cv2.imwrite(str(photo), source_photo(width, height), [cv2.IMWRITE_JPEG_QUALITY, 92])
    cv2.imwrite(str(depth), (synthetic_nearness((height, width)) * 65535).astype(np.uint16))
    return photo, depth


def commands(photo: Path, depth: Path, out: Path) -> dict[str, list[str]]:
    width, height = SIZES[int(photo.stem.split("_")[1].rstrip("mp"))]
    depthfx = [sys.executable, "-m", "depthfx"]
    codec = (
        f"import cv2; a = cv2.imread({str(photo)!r}); cv2.imwrite({str(out / 'codec.jpg')!r}, a)"
    )
    focus = f"{width // 2},{int(height * 0.55)}"
    return {
        "codec": [sys.executable, "-c", codec],
        "bokeh": [*depthfx, "bokeh", str(photo), "--depth", str(depth), "--focus", focus,
                  "-o", str(out / "bokeh.jpg")],
        "fog": [*depthfx, "fog", str(photo), "--depth", str(depth), "-o", str(out / "fog.jpg")],
        "miniature": [*depthfx, "miniature", str(photo), "-o", str(out / "miniature.jpg")],
        "layers": [*depthfx, "layers", str(photo), "--depth", str(depth),
                   "-o", str(out / "layers.jpg")],
        "--help": [*depthfx, "--help"],
    }  # fmt: skip


@dataclass
class Timing:
    walls: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def run_once(command: list[str], scratch: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process.

    The peak comes from ``/usr/bin/time -f %M``: the child of a small process, since Linux
    carries a process's high-water mark across exec (this script's own would show).
    """
    record = scratch / "peak.txt"
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(record)] if TIME.exists() else []
    start = time.perf_counter()
    finished = subprocess.run([*timer, *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        error = finished.stderr.decode(errors="replace")
        raise SystemExit(f"failed ({finished.returncode}): {' '.join(command)}\n{error}")
    peak_kib = float(record.read_text().split()[-1]) if timer else float("nan")
    return wall, peak_kib / 1024.0


def compile_package() -> str:
    """Compile the bytecode of the depthfx that ``python -m depthfx`` imports, as
    ``pip install`` does. From a source tree under ``PYTHONDONTWRITEBYTECODE`` (set on our
    machines) every run would otherwise compile the package again, ~35 ms that no installed
    copy pays."""
    where = subprocess.run(
        [sys.executable, "-c", "import depthfx, os; print(os.path.dirname(depthfx.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    compileall.compile_dir(where, quiet=1)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,12,24", help="megapixels, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="commands to time, e.g. bokeh,fog")
    args = parser.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    only = {v for v in args.only.split(",") if v}
    print(f"python {sys.version.split()[0]}, cv2 {cv2.__version__}, {os.cpu_count()} cores")
    print(f"depthfx from {compile_package()} (bytecode compiled, as an installed copy has)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for size_mp in sizes:
            photo, depth = write_inputs(folder, size_mp)
            todo = {
                name: command
                for name, command in commands(photo, depth, folder).items()
                if name == "codec" or not only or name in only
            }
            timings = {name: Timing() for name in todo}
            names = list(todo)
            for round_index in range(args.rounds):
                # Interleaved: each round runs every command once, in an order rotated from
                # round to round. A process's first touch of memory costs more when the one
                # before it freed less, so a fixed order would always charge the same command.
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    wall, peak = run_once(todo[name], folder)
                    timings[name].walls.append(wall)
                    timings[name].peaks_mb.append(peak)
            report(size_mp, timings)


def report(size_mp: int, timings: dict[str, Timing]) -> None:
    width, height = SIZES[size_mp]
    codec = timings["codec"].median
    print(f"\n{size_mp} MP ({width}x{height}), medians of {len(timings['codec'].walls)} rounds")
    print(f"{'command':<10} {'wall s':>7} {'spread s':>13} {'x codec':>8} {'peak MB':>8}  goal")
    for name, timing in timings.items():
        ratio = timing.median / codec
        spread = f"{min(timing.walls):.2f}-{max(timing.walls):.2f}"
        goal = ""
        if size_mp == 12 and name in GOALS:
            verdict = "ok" if ratio <= GOALS[name] and max(timing.peaks_mb) < 2048 else "MISSED"
            goal = f"<= {GOALS[name]:g}x, < 2 GB: {verdict}"
        elif name == "--help":
            goal = f"<= {HELP_GOAL_S} s: {'ok' if timing.median <= HELP_GOAL_S else 'MISSED'}"
        shown = "" if name == "codec" else f"{ratio:7.2f}x"
        print(
            f"{name:<10} {timing.median:7.2f} {spread:>13} {shown:>8} "
            f"{max(timing.peaks_mb):8.0f}  {goal}"
        )


if __name__ == "__main__":
    main()
