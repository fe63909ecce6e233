"""Build progress: each page is announced as it is read (executing, for a notebook) with
its number and the time so far, and a long one says every ``dlbook_heartbeat_seconds``
that it is still running."""

from __future__ import annotations

import threading
import time

from sphinx.util import logging

logger = logging.getLogger(__name__)


class Progress:
    """Announces each page as it is read and beats while one takes long."""

    def __init__(self):
        self.start = time.monotonic()
        self.total, self.count, self.current, self.since = 0, 0, None, 0.0
        self.heartbeat = 60.0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.start)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def begin(self, app, env, docnames) -> None:
        self.total = len(docnames)
        self.heartbeat = app.config.dlbook_heartbeat_seconds
        if self.total:
            threading.Thread(target=self._beat, daemon=True).start()

    def read(self, app, docname, source) -> None:
        with self.lock:
            self.finish()
            self.count += 1
            self.current, self.since = docname, time.monotonic()
        logger.info(
            f"[dlbook] page {self.count}/{self.total}: {docname} ({self.elapsed()} elapsed)"
        )

    def finish(self, *args) -> None:
        if self.current:
            took = time.monotonic() - self.since
            logger.info(f"[dlbook] {self.current} done in {took:.0f} s ({self.elapsed()} elapsed)")
            self.current = None

    def _beat(self) -> None:
        while not self.stop.wait(self.heartbeat):
            with self.lock:
                if self.current and time.monotonic() - self.since >= self.heartbeat:
                    minutes = (time.monotonic() - self.since) / 60
                    print(  # from this thread, plain print: Sphinx's logging is not thread-safe
                        f"[dlbook] still executing {self.current}: {minutes:.0f} min so far "
                        f"({self.elapsed()} elapsed)",
                        flush=True,
                    )

    def done(self, app, env) -> None:
        with self.lock:
            self.finish()
        self.stop.set()


def setup(app):
    app.add_config_value("dlbook_heartbeat_seconds", 60, "")
    progress = Progress()
    app.connect("env-before-read-docs", progress.begin)
    app.connect("source-read", progress.read)
    app.connect("env-updated", progress.done)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
