import sys

import pytest

from depthfx import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tune_allocator_applies_on_linux_glibc() -> None:
    assert allocator.tune_allocator() is True
    assert allocator.tune_allocator() is True  # idempotent


def test_tune_allocator_is_a_no_op_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.tune_allocator() is False


def test_cli_entry_point_tunes_the_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    from depthfx import cli

    calls = []
    monkeypatch.setattr(allocator, "tune_allocator", lambda: calls.append(True) or True)
    monkeypatch.setattr(cli, "app", lambda: None)
    cli.main()
    assert calls == [True]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_memory_a_worker_thread_freed_is_reused_by_the_main_thread() -> None:
    import subprocess

    # A worker's 60 MB block, freed, then 60 MB on the main thread: with one heap for all
    # threads the second reuses the first's pages, so the process holds ~60 MB more, not
    # ~120 (freed blocks stay resident for reuse). Resident, not peak, memory: a child
    # process inherits its parent's high-water mark.
    code = (
        "import threading, numpy as np\n"
        "from depthfx.allocator import tune_allocator\n"
        "assert tune_allocator()\n"
        "def resident():\n    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
        "before = resident()\n"
        "def work():\n    block = np.ones(60_000_000, np.uint8)\n    del block\n"
        "worker = threading.Thread(target=work)\nworker.start()\nworker.join()\n"
        "block = np.ones(60_000_000, np.uint8)\n"
        "print(resident() - before)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown_mb = float(done.stdout.split()[-1])
    assert 50 < grown_mb < 90, grown_mb
