"""Every worker answers its very first requests, even when they arrive together on its threads.

gunicorn runs as the Procfile runs it (``--preload``, 2 workers, 4 threads each). Dash sets itself
up on the first request a process sees and marks that done before it is, so a page's scripts
requested at once on several threads of a fresh worker used to get "dash is not a registered
library" (a 500, and a blank page). The app now does that set-up before the workers fork.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .harness import Client, start_server, stop_server

pytestmark = pytest.mark.faults


def test_a_fresh_server_serves_the_page_and_all_its_scripts_at_once(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tmp_path)
    try:
        # Only one worker has seen a request yet (start_server's probe): the page and every script
        # at once, on fresh connections, so both workers get several at the same moment.
        status, page = Client(server).get("/")
        assert status == 200
        scripts = re.findall(r'<script src="(/_dash-component-suites/[^"]+)"', page)
        assert len(scripts) > 5, page[:2000]
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda path: (path, Client(server).get(path)[0]), scripts * 3))
        failed = [(path, status) for path, status in answers if status != 200]
        assert not failed, f"{failed[:5]}\n{server.log_text()[-3000:]}"
        assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    finally:
        stop_server(server)
