"""Run the same work on several threads released at once by a barrier, as concurrent openers
of one store are: the failures, for the test to assert on."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(count: int, work: Callable[[], None]) -> list[BaseException]:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait(10)
            work()
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors
