"""Rendering in headless Chromium: figures to images with kaleido, HTML to PDF, and PNG metadata.

Every export that needs a browser (print maps, the report's maps and charts, the report's
PDF) finds it here (:func:`find_chromium`: ``$BROWSER_PATH``, then the usual names) and
runs fully offline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CoverageMapError

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Where kaleido looks for a browser, in order, after ``$BROWSER_PATH``.
CHROMIUM_NAMES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "no Chromium or Chrome browser found to render map images. Install one, e.g. "
    "'sudo apt-get install chromium' on Debian/Ubuntu, or set BROWSER_PATH to the browser's executable"
)


# --- browser ---------------------------------------------------------------------------


def find_chromium(environ: Mapping[str, str] | None = None, which: Callable[[str], str | None] = shutil.which) -> str:
    """The path of a Chromium/Chrome executable, or a :class:`CoverageMapError` saying how to install one.

    ``$BROWSER_PATH`` wins when it names an executable; then :data:`CHROMIUM_NAMES`.
    """
    environ = os.environ if environ is None else environ
    candidates = [environ.get("BROWSER_PATH", ""), *CHROMIUM_NAMES]
    for candidate in candidates:
        if not candidate:
            continue
        found = which(candidate)
        if found:
            return found
    raise CoverageMapError(INSTALL_HINT)


def _run(coro_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion, also from code already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


def render_images(
    jobs: Sequence[tuple[go.Figure, Mapping[str, Any]]], *, browser: str | None = None, timeout: float = 120
) -> list[bytes]:
    """Render figures with one kaleido (one Chromium) session, in order.

    Parameters
    ----------
    jobs
        ``(figure, opts)`` pairs, ``opts`` as kaleido takes them (``format``, ``width``,
        ``height``, ``scale``).
    browser
        Chromium executable (default: :func:`find_chromium`).
    timeout
        Seconds allowed for any one image.
    """
    import kaleido
    from choreographer.errors import ChromeNotFoundError

    path = browser or find_chromium()

    async def render_all() -> list[bytes]:
        async with kaleido.Kaleido(path=path, mathjax=False, timeout=timeout) as session:
            return [bytes(await session.calc_fig(figure, opts=dict(opts))) for figure, opts in jobs]

    try:
        return list(_run(render_all))
    except ChromeNotFoundError as error:
        raise CoverageMapError(f"{INSTALL_HINT} ({error})") from None


def print_pdf(source: Path, out: Path, *, browser: str | None = None, timeout: float = 180) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, no header or footer)."""
    executable = browser or find_chromium()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coverage-map-chromium-") as profile:
        command = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={out.resolve()}",
            "--no-pdf-header-footer",
            source.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CoverageMapError(f"Chromium could not print the PDF: {error}") from None
    if result.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = (result.stderr or "").strip().splitlines()[-3:]
        raise CoverageMapError(f"Chromium could not print the PDF (exit {result.returncode}): {' '.join(tail)}")
    return out


# --- PNG metadata -----------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CoverageMapError("not a PNG file")
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def set_png_dpi(data: bytes, dpi: float) -> bytes:
    """The PNG with a ``pHYs`` chunk recording ``dpi`` (replacing any there was)."""
    per_metre = round(dpi / 0.0254)
    chunks = [(kind, body) for kind, body in _png_chunks(data) if kind != b"pHYs"]
    physical = (b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    chunks.insert(1, physical)  # straight after IHDR, before any IDAT
    return data[:8] + b"".join(_png_chunk(kind, body) for kind, body in chunks)


def png_info(data: bytes) -> tuple[int, int, float | None]:
    """``(width, height, dpi)`` of a PNG; dpi is ``None`` without a pHYs chunk in metres."""
    chunks = dict(_png_chunks(data)[:8])
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    dpi = None
    if b"pHYs" in chunks:
        x_per_unit, _, unit = struct.unpack(">IIB", chunks[b"pHYs"])
        dpi = x_per_unit * 0.0254 if unit == 1 else None
    return width, height, dpi
