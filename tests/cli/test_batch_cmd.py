"""``depthfx batch`` end to end: mixed folders, failures, resuming after a kill, Dask."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_batch import write_depth, write_photo, write_teddy_pair

QUICK_PRESET = """\
version = 1
description = "quick fog for tests"

[depth]
source = "auto"

[[steps]]
effect = "fog"
density = 0.5
color = "white"
"""


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "quick.toml"
    path.write_text(QUICK_PRESET, encoding="utf-8")
    return path


def test_mixed_folder_good_written_bad_reported_inputs_untouched(
    tmp_path: Path, preset_file: Path, examples_dir: Path, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "in"
    out = tmp_path / "out"
    source.mkdir()
    out.mkdir()
    write_depth(write_photo(source / "good1.png", seed=1))
    write_depth(write_photo(source / "good2.jpg", seed=2), suffix=".png")
    write_teddy_pair(examples_dir, source / "scene_L.png", source / "scene_R.png")
    expected = {"good1.png", "good2.jpg", "scene.png"}
    try:  # the MPO part needs the shared data; the rest runs without it
        shared_data: Path | None = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared_data = None
    if shared_data is not None:
        shutil.copy(shared_data / "photos" / "mpo" / "sugarshack.mpo", source / "sugarshack.mpo")
        expected.add("sugarshack.jpg")
    whole = (examples_dir / "teddy_left.jpg").read_bytes()
    (source / "corrupt.jpg").write_bytes(whole[: len(whole) // 3])
    (source / "notes.jpg").write_text("shopping list: milk, eggs\n")
    before = checksums(source)

    code, output = run(
        "batch", source, "--preset", preset_file, "--out-dir", out, "--jobs", "2",
        "--contact-sheet", tmp_path / "sheet.jpg",
    )  # fmt: skip

    assert code == 1, output
    assert checksums(source) == before  # nothing in the input folder changed or appeared
    assert {p.name for p in out.iterdir()} == expected
    for name in expected:
        photo = read_image(out / name)
        assert photo.shape[0] > 0 and photo.pixels.std() > 0.01
    assert f"done {len(expected)}, skipped 0, failed 2" in output
    assert "failed: corrupt.jpg:" in output and "failed: notes.jpg:" in output
    assert "not a readable image" in output
    sheet = cv2.imread(str(tmp_path / "sheet.jpg"))
    assert sheet is not None and sheet.shape[0] >= 160


def test_rerun_refuses_to_overwrite_then_skips_or_overwrites(
    tmp_path: Path, preset_file: Path
) -> None:
    source = tmp_path / "in"
    out = tmp_path / "out"
    source.mkdir()
    out.mkdir()
    for index in range(2):
        write_depth(write_photo(source / f"p{index}.png", seed=index))
    assert run("batch", source, "-p", preset_file, "-o", out, "-j", "1")[0] == 0
    stamp = (out / "p0.png").stat().st_mtime_ns
    code, output = run("batch", source, "-p", preset_file, "-o", out, "-j", "1")
    assert code == 2 and "already exist" in output and "--skip-existing" in output
    code, output = run("batch", source, "-p", preset_file, "-o", out, "--skip-existing")
    assert code == 0 and "done 0, skipped 2, failed 0" in output
    assert (out / "p0.png").stat().st_mtime_ns == stamp
    code, output = run("batch", source, "-p", preset_file, "-o", out, "--overwrite", "-j", "1")
    assert code == 0 and "done 2" in output


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, preset_file: Path) -> None:
    write_photo(tmp_path / "a.png")
    cases = [
        ("batch", tmp_path / "missing", "-p", preset_file, "-o", tmp_path),
        ("batch", tmp_path, "-p", "no-such-preset", "-o", tmp_path / "out"),
        ("batch", tmp_path / "a.png", "-p", preset_file, "-o", tmp_path / "nowhere"),
        ("batch", tmp_path / "a.png", "-p", preset_file, "-o", tmp_path, "--jobs", "0"),
        (
            "batch",
            tmp_path / "a.png",
            "-p",
            preset_file,
            "-o",
            tmp_path,
            "--contact-sheet",
            tmp_path / "s.gif",
        ),
    ]
    for case in cases:
        code, output = run(*case)
        assert code == 2, (case, output)
        assert output.startswith("depthfx: error:") and output.count("\n") == 1, output


def test_batch_with_a_shipped_preset_and_dask_scheduler(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    write_depth(write_photo(tmp_path / "a.png"))
    out = tmp_path / "out"
    out.mkdir()
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, output = run(
            "batch",
            tmp_path / "a.png",
            "-p",
            "diorama",
            "-o",
            out,
            "--scheduler",
            cluster.scheduler_address,
        )
    assert code == 0, output
    assert "done 1, skipped 0, failed 0" in output
    assert read_image(out / "a.png").shape == (48, 64)


def test_help_works() -> None:
    code, output = run("batch", "--help")
    assert code == 0 and "--skip-existing" in output and "--scheduler" in output


def _outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.suffix == ".png" and not p.name.startswith("."))


@pytest.mark.slow
def test_killed_batch_resumes_with_skip_existing(tmp_path: Path, preset_file: Path) -> None:
    source = tmp_path / "in"
    out = tmp_path / "out"
    source.mkdir()
    out.mkdir()
    count = 24
    for index in range(count):
        write_depth(write_photo(source / f"img{index:02d}.png", size=(480, 640), seed=index))
    command = [
        sys.executable, "-c", "from depthfx.cli import main; main()",
        "batch", str(source), "--preset", str(preset_file), "--out-dir", str(out), "--jobs", "2",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,  # import the installed depthfx, not a source tree in the cwd
    )
    deadline = time.monotonic() + 60
    try:
        while len(_outputs(out)) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: the CLI and its workers
        process.wait()
    done_before = len(_outputs(out))
    assert 3 <= done_before < count, "the batch was not interrupted midway"
    # A kill between writing and renaming leaves a temporary file; make sure one is there.
    (out / ".img23.x1y2z3.tmp.png").write_bytes(b"half an image")

    code, output = run(
        "batch", source, "--preset", preset_file, "--out-dir", out, "--skip-existing", "-j", "2"
    )

    assert code == 0, output
    assert f"skipped {done_before}" in output
    outputs = _outputs(out)
    assert [p.name for p in outputs] == [f"img{index:02d}.png" for index in range(count)]
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []
    for path in outputs:
        picture = cv2.imread(str(path))
        assert picture is not None and picture.shape == (480, 640, 3)
