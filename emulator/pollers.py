"""Event-source pollers: how the local run will feed functions from streams and queues.

moto stores DynamoDB stream records, SQS messages and Kinesis records but runs no Lambda
code, so an event source mapping has to be played by a poller in this process: read a batch
(batch size, window), invoke the function through `LocalRun.functions[name].invoke(event)`
with the event shape Lambda builds, and apply Lambda's semantics (partial batch failures,
visibility timeout, retries, maxReceiveCount -> DLQ, on-failure destinations).

No event source is declared in `switchboard.wiring` yet, so `build_pollers` returns none;
each kind of source adds a factory to `FACTORIES` when wiring declares it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from emulator.run import LocalRun


class Poller(Protocol):
    """A background loop the runner starts after the API and stops before AWS goes away."""

    name: str

    def start(self) -> None:
        """Begin polling on a daemon thread; return at once."""

    def stop(self) -> None:
        """Finish the batch in hand, then return; called once, from the main thread."""


# Each factory looks at the wiring and returns the pollers for one kind of event source.
FACTORIES: list[Callable[[LocalRun], list[Poller]]] = []


def build_pollers(run: LocalRun) -> list[Poller]:
    return [poller for factory in FACTORIES for poller in factory(run)]
