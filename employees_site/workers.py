"""The site's gunicorn worker: gthread that takes a new connection only with a thread free for it.

gunicorn's gthread workers all poll the one listening socket, and each accepts whatever arrives
whether or not its threads are busy; keep-alive then ties a connection to the worker that took it
for as long as the client (the load balancer) keeps it. A burst of new connections could land on
one worker while another got none: measured on two cores, 16 keep-alive connections all on one of
two workers halved the site's throughput, in one benchmark round of three.

This worker stops polling the listening socket while all its threads are busy, so a connection
waits in the kernel's queue for whichever worker frees a thread first, as gunicorn's sync workers
do by design. Requests on connections a worker already holds are served as before.

It relies on ThreadWorker's internals of gunicorn 27 (``enqueue_req``, ``finish_request``,
``accept``, ``set_accept_enabled``); setup.cfg pins that series and
``tests/site/test_gunicorn_worker.py`` shows the behaviour.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class FairThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.busy = 0  # requests submitted to the thread pool and not finished

    def has_free_thread(self) -> bool:
        return self.busy < self.cfg.threads

    # Everything below runs on the worker's main thread (the poller's callbacks and the method
    # queue), so ``busy`` needs no lock.

    def enqueue_req(self, conn) -> None:
        super().enqueue_req(conn)
        self.busy += 1
        if not self.has_free_thread():
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs) -> None:
        self.busy -= 1
        # May enqueue the connection again (a request read ahead): counted by enqueue_req.
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        # The run loop asks to accept again on every turn; granted once a thread is free.
        super().set_accept_enabled(enabled and self.has_free_thread())

    def accept(self, listener) -> None:
        # The listener's readiness may be in the same batch of events as the request that took
        # the last free thread: leave the connection queued for another worker.
        if self.has_free_thread():
            super().accept(listener)
