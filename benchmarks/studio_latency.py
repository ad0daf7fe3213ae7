"""Studio latency: time from a focus click to the updated preview, 1 MP and 2 MP previews.

The photo is 12 MP (4000 x 3000): the example teddy photo enlarged, with its stereo depth
enlarged to match. For each preview size the studio server runs in this process (as
``depthfx studio`` does, allocator settings included) and each click is a fresh focus point
on the bokeh effect, sent after the previous preview arrived:

* ``http``: POST /api/render, then GET /api/preview of that generation (render, JPEG
  encode and transfer; what the page waits for);
* ``browser`` (when Chromium, chromedriver and Selenium are installed): a click on the page
  in headless Chromium until its status reads ``ready`` (the new preview decoded and
  shown), timed inside the page.

Prints the median, the 10th-90th percentile spread, min and max per size and mode, and the
process's memory (the 12 MP photo and depth are held for export; the previews are small). The
target is a median of at most 0.3 s at 2 MP on the project's 2-core machine. Other work on
the machine inflates the figures: the load average is printed with them.

Usage: python benchmarks/studio_latency.py [--clicks 25] [--sizes 1,2] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depthfx._parallel import configure_process
from depthfx.depth.source import DepthRequest
from depthfx.depth.stereo import stereo_depth
from depthfx.image import read_image
from depthfx.studio.server import StudioServer
from depthfx.studio.session import StudioSession

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
WIDTH, HEIGHT = 4000, 3000

# Clicks a page's test harness would make: the photo's points, in full-size pixels.
_CLICK_SCRIPT = """
const [fx, fy, done] = arguments;
const image = document.querySelector('[data-testid="preview"]');
const status = document.querySelector('[data-testid="status"]');
const rect = image.getBoundingClientRect();
const start = performance.now();
const observer = new MutationObserver(() => {
  if (status.textContent === "ready") { observer.disconnect(); done(performance.now() - start); }
});
observer.observe(status, { childList: true, characterData: true, subtree: true });
image.dispatchEvent(new MouseEvent("click", {
  clientX: rect.left + fx * rect.width, clientY: rect.top + fy * rect.height, bubbles: true,
}));
"""


def make_photo(folder: Path) -> tuple[Path, Path]:
    """A 12 MP photo and its depth (.npy), from the example stereo pair."""
    left = read_image(EXAMPLES / "teddy_left.jpg")
    right = read_image(EXAMPLES / "teddy_right.jpg")
    nearness = stereo_depth(left.pixels, right.pixels).nearness
    picture = cv2.imread(str(EXAMPLES / "teddy_left.jpg"))
    big = cv2.resize(picture, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    photo = folder / "teddy12mp.jpg"
    cv2.imwrite(str(photo), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    depth = folder / "teddy12mp.depth.npy"
    np.save(depth, cv2.resize(nearness, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR))
    return photo, depth


def click_points(count: int) -> list[tuple[float, float]]:
    """Fractions of the photo's width and height, spread over it, no two alike."""
    rng = np.random.default_rng(1)
    return [(float(x), float(y)) for x, y in rng.uniform(0.1, 0.9, size=(count, 2))]


def settings_for(fx: float, fy: float) -> dict[str, Any]:
    return {"choice": "bokeh", "steps": [{"focus": f"{int(fx * WIDTH)},{int(fy * HEIGHT)}"}]}


def time_http(server: StudioServer, points: list[tuple[float, float]]) -> list[float]:
    base = f"http://127.0.0.1:{server.port}"
    times = []
    for fx, fy in points:
        start = time.perf_counter()
        request = urllib.request.Request(
            f"{base}/api/render?token={server.token}",
            data=json.dumps(settings_for(fx, fy)).encode(),
        )
        with urllib.request.urlopen(request) as response:
            generation = json.loads(response.read())["generation"]
        preview = f"{base}/api/preview?generation={generation}&token={server.token}"
        with urllib.request.urlopen(preview) as response:
            response.read()
        times.append(time.perf_counter() - start)
    return times


def time_browser(server: StudioServer, points: list[tuple[float, float]]) -> list[float] | None:
    sys.path.insert(0, str(REPO / "tests" / "studio"))
    try:
        from studio_helpers import find_chromium, start_chromium, stop_chromium
    except ImportError:
        return None
    if find_chromium() is None:
        return None
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    driver = start_chromium(1600, 1000)
    try:
        driver.set_script_timeout(120)
        driver.get(server.url)
        deadline = time.time() + 120
        while (
            driver.execute_script(
                "return document.querySelector('[data-testid=\"status\"]').textContent"
            )
            != "ready"
        ):
            if time.time() > deadline:
                raise RuntimeError("the page never got ready")
            time.sleep(0.05)
        return [driver.execute_async_script(_CLICK_SCRIPT, fx, fy) / 1000 for fx, fy in points]
    finally:
        stop_chromium(driver)


def resident_mib() -> float:
    """This process's resident memory now, in MiB (from /proc; 0 where there is none)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    tenth = ordered[int(0.1 * (len(ordered) - 1))]
    ninetieth = ordered[round(0.9 * (len(ordered) - 1))]
    return (
        f"median {statistics.median(ordered):.3f} s, p10-p90 {tenth:.3f}-{ninetieth:.3f} s, "
        f"min {ordered[0]:.3f} s, max {ordered[-1]:.3f} s ({len(ordered)} clicks)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=25)
    parser.add_argument("--sizes", default="1,2", help="Preview sizes in megapixels.")
    parser.add_argument("--no-browser", action="store_true", help="Only the HTTP timing.")
    args = parser.parse_args()
    configure_process(allocator=True)  # as the depthfx command runs
    with tempfile.TemporaryDirectory() as folder:
        photo_path, depth_path = make_photo(Path(folder))
        request = DepthRequest(depth_file=depth_path)
        from depthfx.depth.source import load_photo_and_depth

        photo, depth = load_photo_and_depth(photo_path, request)
        print(f"photo {photo.shape[1]}x{photo.shape[0]}, {os.cpu_count()} cores")
        for size in (float(text) for text in args.sizes.split(",")):
            session = StudioSession(
                photo_path, photo, depth, request, Path(folder), preview_pixels=int(size * 1e6)
            )
            server = StudioServer(session)
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            try:
                width, height = session.preview_size
                time_http(server, click_points(3))  # warm-up
                load = os.getloadavg()[0]
                http = time_http(server, click_points(args.clicks))
                print(f"{size:g} MP preview ({width}x{height}), http:    {summary(http)}")
                if not args.no_browser:
                    browser = time_browser(server, click_points(args.clicks))
                    if browser is None:
                        print(f"{size:g} MP preview: browser timing skipped (no Chromium)")
                    else:
                        print(
                            f"{size:g} MP preview ({width}x{height}), browser: {summary(browser)}"
                        )
                print(f"  load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}")
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"  server memory: {resident_mib():.0f} MiB resident, peak {peak:.0f} MiB")
            finally:
                server.shutdown()
                server.server_close()


if __name__ == "__main__":
    main()
