"""gunicorn settings for the site behind the ALB. Start: gunicorn -c employees_site/gunicorn.conf.py

Command-line flags override these (the tests bind 127.0.0.1 on a free port that way).
"""

import multiprocessing

wsgi_app = "employees_site.wsgi:application"
bind = "0.0.0.0:8000"  # the ALB's target group port; the security group admits the ALB only

# Threads serve I/O-bound requests (the database) cheaply; a process per core uses the CPUs.
worker_class = "gthread"
workers = max(2, multiprocessing.cpu_count())
threads = 4
# Load the app once in the master: faster worker starts, shared memory. No connection or AWS
# client exists yet at that point (both are made lazily, per worker).
preload_app = True

# The ALB keeps idle connections for 60 s; a shorter keep-alive here makes gunicorn close a
# connection the ALB is about to reuse, which the ALB reports as a 502.
keepalive = 75
timeout = 30  # a worker stuck longer than this is replaced
# Shorter than the target group's deregistration delay (30 s), so in-flight requests finish
# before the ALB stops waiting for them during scale-in and instance refresh.
graceful_timeout = 25
# Recycle workers now and then (slow leaks), spread out so they never restart together.
max_requests = 5000
max_requests_jitter = 500
# Close each keep-alive connection after this many requests ("Connection: close", as nginx's
# keepalive_requests), so the ALB's connections keep spreading over the workers. A connection
# stays with the worker that accepted it: a burst of new ones can all land on one worker, and a
# recycled worker starts with none, so keep-alive alone left one worker idle beside a loaded one
# (seen with ss under make bench: 16 connections on one of two workers, half the throughput).
keepalive_requests = 100


def pre_request(worker, req):
    if req.req_number >= keepalive_requests:
        req.must_close = True


# X-Forwarded-* headers are trusted only from the VPC's addresses (the ALB's nodes): gunicorn
# reads forwarded_allow_ips from FORWARDED_ALLOW_IPS, which the bootstrap sets to the VPC CIDR
# (default 127.0.0.1 only).

# The site logs one JSON line per request itself; gunicorn logs only its own events.
accesslog = None
errorlog = "-"
loglevel = "info"
# Heartbeat files in memory, not on EBS, whose latency spikes can get healthy workers killed.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - gunicorn's documented choice; files are per worker
