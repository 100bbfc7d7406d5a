"""What the test folders share: the job engine's test actors, settings and
waiting helpers, in-process and separate-process workers, the API served on
a loopback port, and the fixtures built on them (:mod:`support.fixtures`,
loaded for the whole suite by ``tests/conftest.py``).

``tests`` is on ``sys.path`` (``pythonpath`` in ``pyproject.toml``), so any
test module imports ``support.<module>``.

- :mod:`support.jobs`: job-engine settings, waiting for a job or a
  condition, a job's state history, the actors' run counters.
- :mod:`support.actors`: the test actors (``test.*``) and their messages.
- :mod:`support.workers`: a worker in this process (Folio's middleware,
  metrics on a private port) and worker processes (``python -m dramatiq``).
- :mod:`support.metrics`: reading a worker's metrics port.
- :mod:`support.live_server`: the real API on a free loopback port.
- :mod:`support.fixtures`: ``worker``, ``jobs``, ``redis``, ``spans``,
  ``key``, ``spawn`` — one meaning each, across the suite.
"""
