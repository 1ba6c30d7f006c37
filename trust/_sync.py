"""Run pyHanko's async APIs from synchronous code, including code already inside an event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any


def run_sync[T](coroutine: Coroutine[Any, Any, T]) -> T:
    # asyncio.run refuses to nest: under an ASGI server's loop, use a short-lived thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
