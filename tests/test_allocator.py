import sys

import pytest

import depthfx
from depthfx import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tune_allocator_applies_on_linux_glibc() -> None:
    assert depthfx.tune_allocator() is True
    assert depthfx.tune_allocator() is True  # idempotent


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
