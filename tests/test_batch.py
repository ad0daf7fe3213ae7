"""Batch runs: discovery, stereo pairing, planning, running in-process / in a pool / on Dask."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.batch import (
    BatchItem,
    BatchTask,
    DepthFallback,
    ItemResult,
    depth_request_for,
    discover_inputs,
    find_depth_file,
    plan_batch,
    process_item,
    remove_stale_temporaries,
    run_batch,
    summarize,
)
from depthfx.chain import Chain
from depthfx.depth.source import DepthRequest, DepthSettings
from depthfx.depthmap import DepthMap
from depthfx.effects.fog import Fog
from depthfx.errors import InputError, ParameterError
from depthfx.image import read_image, to_display

CHAIN = Chain([Fog(density=0.5, color="white")], description="test fog")


def write_photo(path: Path, *, size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """A small textured photo (8-bit, sRGB) written with OpenCV."""
    rng = np.random.default_rng(seed)
    height, width = size
    base = rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    picture = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    assert cv2.imwrite(str(path), picture)
    return path


def write_depth(image: Path, *, suffix: str = ".npy") -> Path:
    """A left-to-right nearness ramp beside ``image`` (``name.depth.npy`` / ``.png``)."""
    photo = read_image(image)
    ramp = np.tile(np.linspace(0.1, 1.0, photo.shape[1], dtype=np.float32), (photo.shape[0], 1))
    target = image.with_name(f"{image.stem}.depth{suffix}")
    if suffix == ".npy":
        np.save(target, ramp)
    else:
        cv2.imwrite(str(target), np.round(ramp * 65535).astype(np.uint16))
    return target


# --------------------------------------------------------------------------- discovery


def test_discovery_pairs_stereo_names_and_finds_depth_files(tmp_path: Path) -> None:
    for name in (
        "a_L.jpg",
        "a_R.jpg",
        "teddy_left.png",
        "teddy_right.png",
        "solo.jpg",
        "Right-only_R.jpg",
    ):
        write_photo(tmp_path / name)
    write_depth(tmp_path / "solo.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"")
    items = discover_inputs([tmp_path])
    by_name = {item.name: item for item in items}
    assert set(by_name) == {"a", "teddy", "solo", "Right-only_R"}
    assert by_name["a"].image.name == "a_L.jpg" and by_name["a"].right.name == "a_R.jpg"
    assert by_name["teddy"].right.name == "teddy_right.png"
    assert by_name["solo"].depth_file == tmp_path / "solo.depth.npy"
    assert by_name["solo"].right is None and by_name["Right-only_R"].right is None


def test_discovery_expands_globs_and_keeps_explicit_files(tmp_path: Path) -> None:
    write_photo(tmp_path / "one.jpg")
    write_photo(tmp_path / "two.png")
    (tmp_path / "sub").mkdir()
    write_photo(tmp_path / "sub" / "three.jpg")
    strange = tmp_path / "odd.dat"
    strange.write_bytes(b"x")
    assert [i.name for i in discover_inputs([str(tmp_path / "*.jpg")])] == ["one"]
    assert {i.name for i in discover_inputs([tmp_path], recursive=True)} == {"one", "two", "three"}
    assert [i.image for i in discover_inputs([strange])] == [strange]  # reported later, not dropped
    with pytest.raises(InputError, match="no such file or folder"):
        discover_inputs([tmp_path / "missing.jpg"])
    with pytest.raises(InputError, match="matches no image"):
        discover_inputs([str(tmp_path / "*.tif")])
    with pytest.raises(ParameterError, match="sbs"):
        discover_inputs([tmp_path], sbs="diagonal")


def test_duplicate_output_names_are_made_distinct(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    write_photo(tmp_path / "x" / "photo.jpg")
    write_photo(tmp_path / "y" / "photo.jpg")
    write_photo(tmp_path / "photo_left.jpg")
    write_photo(tmp_path / "photo_right.jpg")
    items = discover_inputs([tmp_path / "x", tmp_path / "y", tmp_path])
    names = [item.name for item in items]
    assert len(set(n.lower() for n in names)) == len(names) == 3


def test_find_depth_file_prefers_npy(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.jpg")
    assert find_depth_file(image) is None
    write_depth(image, suffix=".png")
    assert find_depth_file(image) == tmp_path / "p.depth.png"
    write_depth(image, suffix=".npy")
    assert find_depth_file(image) == tmp_path / "p.depth.npy"


# --------------------------------------------------------------------------- depth choice


def _task(item: BatchItem, tmp_path: Path, **kwargs: object) -> BatchTask:
    chain = kwargs.pop("chain", CHAIN)
    return BatchTask(item=item, chain=chain, output=tmp_path / "out.jpg", **kwargs)  # type: ignore[arg-type]


def test_depth_source_order(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.jpg")
    right = write_photo(tmp_path / "r.jpg")
    cache = tmp_path / "p.depth-cache.npy"
    plain = BatchItem(image=image, name="p")
    assert depth_request_for(_task(plain, tmp_path))[1] == "mono"  # auto falls back to mono
    assert depth_request_for(_task(BatchItem(image, right=right), tmp_path))[1] == "stereo"
    sidecar = write_depth(image)
    with_file = BatchItem(image=image, right=right, depth_file=sidecar)
    request, source = depth_request_for(_task(with_file, tmp_path))
    assert source == "file" and request.depth_file == sidecar
    np.save(cache, np.ones((4, 4), np.float32))
    assert depth_request_for(_task(plain, tmp_path, depth_cache=cache))[1] == "cache"
    stereo_only = Chain(depth=DepthSettings(source="stereo"))
    with pytest.raises(InputError, match="wants stereo"):
        depth_request_for(_task(plain, tmp_path, chain=stereo_only))
    file_only = Chain(depth=DepthSettings(source="file"))
    with pytest.raises(InputError, match="depth file"):
        depth_request_for(_task(plain, tmp_path, chain=file_only))
    mono = Chain(depth=DepthSettings(source="mono", model="pydnet"))
    request, source = depth_request_for(_task(BatchItem(image, right=right), tmp_path, chain=mono))
    assert source == "mono" and request.model == "pydnet"
    overridden = _task(
        plain, tmp_path, chain=mono, fallback=DepthFallback(mono=True, model="other")
    )
    assert depth_request_for(overridden)[0].model == "other"


# --------------------------------------------------------------------------- planning


@pytest.mark.parametrize("source", [{"right": "r.jpg"}, {"depth_file": "d.npy"}, {"sbs": "cross"}])
def test_plan_refuses_a_fallback_naming_a_per_photo_source(
    tmp_path: Path, source: dict[str, str]
) -> None:
    items = [BatchItem(image=write_photo(tmp_path / "p.jpg"), name="p")]
    (tmp_path / "out").mkdir()
    with pytest.raises(ParameterError, match="per photo"):
        plan_batch(items, CHAIN, tmp_path / "out", fallback=DepthRequest(**source))  # type: ignore[arg-type]
    plan = plan_batch(items, CHAIN, tmp_path / "out", fallback=DepthRequest(mono=True))
    assert plan.tasks[0].fallback.mono


def test_plan_refuses_to_overwrite_and_skips_when_asked(tmp_path: Path) -> None:
    source = tmp_path / "in"
    out = tmp_path / "out"
    source.mkdir()
    out.mkdir()
    for name in ("a.jpg", "b.jpg"):
        write_photo(source / name)
    items = discover_inputs([source])
    (out / "a.jpg").write_bytes(b"earlier result")
    with pytest.raises(InputError, match=r"already exist.*--skip-existing.*--overwrite"):
        plan_batch(items, CHAIN, out)
    plan = plan_batch(items, CHAIN, out, skip_existing=True)
    assert [t.output.name for t in plan.tasks] == ["b.jpg"]
    assert [r.status for r in plan.skipped] == ["skipped"]
    assert len(plan_batch(items, CHAIN, out, overwrite=True).tasks) == 2
    with pytest.raises(InputError, match="does not exist"):
        plan_batch(items, CHAIN, tmp_path / "nowhere")
    with pytest.raises(InputError, match="overwrite an input"):
        plan_batch(items, CHAIN, source, overwrite=True)
    with pytest.raises(ParameterError, match="output format"):
        plan_batch(items, CHAIN, out, overwrite=True, suffix="gif")
    assert (
        plan_batch(items, CHAIN, out, overwrite=True, suffix="png").tasks[0].output.suffix == ".png"
    )


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch(discover_inputs([image]), CHAIN, out)
    stale = out / ".a.k2j3h4.tmp.jpg"
    stale.write_bytes(b"half a jpeg")
    unrelated = out / ".other.x.tmp.jpg"
    unrelated.write_bytes(b"not ours")
    assert remove_stale_temporaries(plan.tasks) == [stale]
    assert not stale.exists() and unrelated.exists()


# --------------------------------------------------------------------------- running


def test_process_item_writes_output_and_reports_failures(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "a.png")
    write_depth(image)
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch(discover_inputs([image, broken]), CHAIN, out, thumbnails=True)
    good, bad = (process_item(task) for task in plan.tasks)
    assert good.status == "done" and good.depth_source == "file"
    assert good.before is not None and good.after is not None and good.after.dtype == np.uint8
    written = cv2.cvtColor(cv2.imread(str(out / "a.png")), cv2.COLOR_BGR2RGB)
    expected = CHAIN.apply(read_image(image).pixels, np.load(tmp_path / "a.depth.npy"))
    np.testing.assert_array_equal(written, to_display(expected))  # the same 8-bit encoding
    assert (
        bad.status == "failed"
        and "broken.png" in bad.reason
        and "not a readable image" in bad.reason
    )
    assert not (out / "broken.png").exists()


def write_teddy_pair(examples_dir: Path, left: Path, right: Path, *, scale: int = 3) -> None:
    """The example teddy pair, shrunk (fast stereo with real texture)."""
    for source, target in (("teddy_left.jpg", left), ("teddy_right.jpg", right)):
        picture = cv2.imread(str(examples_dir / source))
        small = cv2.resize(picture, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        assert cv2.imwrite(str(target), small)


def test_save_depth_caches_and_the_next_run_reuses_it(tmp_path: Path, examples_dir: Path) -> None:
    write_teddy_pair(examples_dir, tmp_path / "s_L.png", tmp_path / "s_R.png")
    out = tmp_path / "out"
    out.mkdir()
    items = discover_inputs([tmp_path])
    assert len(items) == 1 and items[0].name == "s"
    first = run_batch(plan_batch(items, CHAIN, out, save_depth=True).tasks, jobs=1)
    assert first[0].status == "done", first[0].reason
    assert first[0].depth_source == "stereo"
    cached = DepthMap.load(out / "s.depth.npz")
    assert cached.shape == (125, 150) and cached.units == "disparity_px"
    assert cached.confidence is not None and 0 < cached.confidence.mean() < 1
    second = run_batch(plan_batch(items, CHAIN, out, overwrite=True).tasks, jobs=1)
    assert second[0].status == "done" and second[0].depth_source == "cache"
    # the cached map gives the same picture as the fresh stereo match
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    run_batch(plan_batch(items, CHAIN, fresh).tasks, jobs=1)
    assert np.array_equal(cv2.imread(str(out / "s.png")), cv2.imread(str(fresh / "s.png")))


def test_pool_run_matches_in_process_run(tmp_path: Path) -> None:
    for index in range(3):
        write_depth(write_photo(tmp_path / f"p{index}.png", seed=index))
    write_photo(tmp_path / "nodepth.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    items = [item for item in discover_inputs([tmp_path]) if item.name != "nodepth"]
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    seen: list[ItemResult] = []
    serial = run_batch(plan_batch(items, CHAIN, one).tasks, jobs=1)
    parallel = run_batch(plan_batch(items, CHAIN, two).tasks, jobs=2, on_result=seen.append)
    assert (
        [r.status for r in serial]
        == [r.status for r in parallel]
        == ["failed", "done", "done", "done"]
    )
    assert len(seen) == 4 and summarize(parallel).failed == 1
    for index in range(3):
        first = cv2.imread(str(one / f"p{index}.png"))
        second = cv2.imread(str(two / f"p{index}.png"))
        assert first is not None and np.array_equal(first, second)
    with pytest.raises(ParameterError, match="jobs"):
        run_batch(plan_batch(items, CHAIN, one, overwrite=True).tasks, jobs=0)


def test_dask_local_cluster_reports_like_the_pool(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    write_depth(write_photo(tmp_path / "good.png"))
    (tmp_path / "bad.jpg").write_text("text, not a JPEG")
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch(discover_inputs([tmp_path]), CHAIN, out)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        results = run_batch(plan.tasks, scheduler=cluster.scheduler_address)
    statuses = {r.source: r.status for r in results}
    assert statuses == {"bad.jpg": "failed", "good.png": "done"}
    assert "not a readable image" in next(r.reason for r in results if r.status == "failed")
    assert read_image(out / "good.png").shape == (48, 64)


def test_dask_bad_address_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("depthfx.batch.DASK_CONNECT_TIMEOUT", "1s")
    write_depth(write_photo(tmp_path / "good.png"))
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch(discover_inputs([tmp_path / "good.png"]), CHAIN, out)
    with pytest.raises(InputError, match="cannot connect to the Dask scheduler"):
        run_batch(plan.tasks, scheduler="tcp://127.0.0.1:1")


def test_default_jobs_is_positive() -> None:
    from depthfx.batch import default_jobs

    assert default_jobs() >= 1
    assert default_jobs() <= (os.cpu_count() or 1)


def test_side_by_side_pictures_with_sbs_flag(tmp_path: Path, examples_dir: Path) -> None:
    left, right = tmp_path / "l.png", tmp_path / "r.png"
    write_teddy_pair(examples_dir, left, right)
    side_by_side = np.concatenate([cv2.imread(str(left)), cv2.imread(str(right))], axis=1)
    folder = tmp_path / "sbs"
    folder.mkdir()
    cv2.imwrite(str(folder / "holiday.png"), side_by_side)
    out = tmp_path / "out"
    out.mkdir()
    items = discover_inputs([folder], sbs="parallel")
    assert [(item.name, item.sbs) for item in items] == [("holiday", "parallel")]
    results = run_batch(plan_batch(items, CHAIN, out).tasks, jobs=1)
    assert results[0].status == "done" and results[0].depth_source == "stereo", results[0].reason
    assert read_image(out / "holiday.png").shape == (125, 150)  # the left view, not both


def test_batch_apply_in_one_call(tmp_path: Path) -> None:
    from depthfx.batch import batch_apply

    write_depth(write_photo(tmp_path / "a.png"))
    out = tmp_path / "out"
    out.mkdir()
    results = batch_apply([tmp_path / "a.png"], "diorama", out, jobs=1)
    assert [(r.source, r.status) for r in results] == [("a.png", "done")]
    again = batch_apply([tmp_path / "a.png"], CHAIN, out, skip_existing=True)
    assert [r.status for r in again] == ["skipped"]


def test_mono_batch_loads_the_network_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    from onnx_factory import channel_model

    from depthfx.depth import mono

    net = channel_model(tmp_path / "grey.onnx", width=16, height=12, weights=(0.3, 0.3, 0.3))
    loads: list[str] = []
    real_read = cv2.dnn.readNetFromONNX
    monkeypatch.setattr(
        mono.cv2.dnn, "readNetFromONNX", lambda path: loads.append(path) or real_read(path)
    )
    mono.clear_model_cache()
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(3):
        write_photo(photos / f"p{seed}.jpg", seed=seed)
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch(
        discover_inputs([photos]), CHAIN, out, fallback=DepthFallback(mono=True, model=str(net))
    )
    results = run_batch(plan.tasks, jobs=1)
    mono.clear_model_cache()
    assert [(r.status, r.depth_source) for r in results] == [("done", "mono")] * 3
    assert len(loads) == 1
