"""A closed-loop HTTP load: N clients (threads in a few processes), each sending its next request
as soon as the last one is answered, over one keep-alive connection."""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """What one client sends: `%N%` in the body is replaced by a counter, so no two bodies match."""

    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Outcome:
    latencies: list[float]
    errors: int
    seconds: float

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _run_client(port: int, client: Client, warmup: float, duration: float, start: float, out: list) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, counter = [], 0, 0
    measure_from, stop_at = start + warmup, start + warmup + duration
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        counter += 1
        body = client.body.replace(b"%N%", str(counter).encode())
        try:
            connection.request(client.method, client.path, body=body, headers=client.headers)
            response = connection.getresponse()
            response.read()
            ok = response.status < 300
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        done = time.perf_counter()
        if now >= measure_from:
            if ok:
                latencies.append(done - now)
            else:
                errors += 1
    connection.close()
    out.append((latencies, errors))


def _run_process(args) -> tuple[list[float], int]:
    port, clients, warmup, duration = args
    start = time.perf_counter()
    out: list = []
    threads = [
        threading.Thread(target=_run_client, args=(port, client, warmup, duration, start, out))
        for client in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for latencies, _ in out for x in latencies], sum(errors for _, errors in out)


def run(port: int, clients: list[Client], warmup: float, duration: float, processes: int = 4) -> Outcome:
    """Run every client at once for warmup + duration seconds; only the last `duration` counts."""
    groups = [clients[i::processes] for i in range(processes) if clients[i::processes]]
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(groups)) as pool:
        results = pool.map(_run_process, [(port, group, warmup, duration) for group in groups])
    latencies = [x for got, _ in results for x in got]
    return Outcome(latencies, sum(errors for _, errors in results), duration)
