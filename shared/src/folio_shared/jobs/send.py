"""Sending tracked jobs' messages from asyncio code without blocking the loop.

Dramatiq's brokers are synchronous: ``RedisBroker.enqueue`` runs a Lua
script over a blocking redis-py connection. Called from the API's event
loop, every send stalls every other request of the process for a Redis
round trip, and the send cannot be pipelined with the other Redis commands
of the request. :class:`AsyncSender` does what ``RedisBroker.enqueue``
does (fresh ``redis_message_id``, delay queue and ``eta`` option, the
broker's ``before_enqueue``/``after_enqueue`` hooks, Dramatiq's own
``dispatch.lua``) over an asyncio Redis client, and records the job's
message pointer (:mod:`folio_shared.jobs.pointers`) in the same round
trip, which the :class:`~folio_shared.jobs.pointers.MessagePointers`
middleware does after a blocking send.

Other brokers (RabbitMQ) are sent to with ``broker.enqueue`` in a thread.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import dramatiq
import hiredis
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis, dq_name
from redis.exceptions import NoScriptError, ResponseError

from folio_shared.jobs import pointers
from folio_shared.logging import get_logger
from folio_shared.redis_pipe import RedisPipe

log = get_logger(__name__)


class AsyncSender:
    """Enqueue Dramatiq messages of tracked jobs on ``broker`` from asyncio.

    ``client`` must reach the same Redis as a :class:`RedisBroker` (it is
    ignored for other brokers).
    """

    def __init__(self, broker: dramatiq.Broker, client: aioredis.Redis) -> None:
        self.broker = broker
        self.client = client
        self._redis = isinstance(broker, RedisBroker)
        if self._redis:
            assert isinstance(broker, RedisBroker)
            self._script = broker.scripts["dispatch"]
        #: the sends' own connection (redis-py's pool for what it cannot reach)
        self._pipe = RedisPipe.for_client(client) if self._redis else None

    def _declare(self, queue_name: str) -> None:
        if queue_name not in self.broker.get_declared_queues():
            self.broker.declare_queue(queue_name)

    async def send(
        self, message: dramatiq.Message[Any], *, delay_ms: int | None = None
    ) -> dramatiq.Message[Any]:
        """Enqueue ``message`` (after ``delay_ms``); returns the message as sent."""
        self._declare(message.queue_name)
        if not self._redis:
            return await asyncio.to_thread(self.broker.enqueue, message, delay=delay_ms)
        message, args = self._prepare(message, delay_ms)
        (error,) = await self._dispatch([(args, message)])
        if error is not None:
            raise error
        self._after_enqueue(message, delay_ms)
        return message

    async def send_many(self, messages: list[dramatiq.Message[Any]]) -> list[Exception | None]:
        """Enqueue ``messages`` (no delay) in one Redis round trip; the
        error of each (``None``: sent), in order."""
        if not self._redis:
            errors: list[Exception | None] = []
            for message in messages:
                try:
                    await self.send(message)
                    errors.append(None)
                except Exception as e:  # each message's own outcome
                    errors.append(e)
            return errors
        prepared = []
        for message in messages:
            self._declare(message.queue_name)
            prepared.append(self._prepare(message, None))
        errors = await self._dispatch([(args, m) for m, args in prepared])
        for (message, _), error in zip(prepared, errors, strict=True):
            if error is None:
                self._after_enqueue(message, None)
        return errors

    def _prepare(
        self, message: dramatiq.Message[Any], delay_ms: int | None
    ) -> tuple[dramatiq.Message[Any], list[Any]]:
        """The message as it will be sent, and the dispatch script's arguments."""
        broker = self.broker
        assert isinstance(broker, RedisBroker)
        queue_name = message.queue_name
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        if delay_ms is not None:
            queue_name = dq_name(queue_name)
            message = message.copy(
                queue_name=queue_name, options={"eta": current_millis() + delay_ms}
            )
        broker.emit_before("enqueue", message, delay_ms)
        args = [
            "enqueue",
            current_millis(),
            queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            # the same chance of Dramatiq's queue maintenance as a sync send
            broker._should_do_maintenance("enqueue"),
            broker._max_unpack_size(),  # type: ignore[no-untyped-call]
            message.options["redis_message_id"],
            message.encode(),
        ]
        return message, args

    def _after_enqueue(self, message: dramatiq.Message[Any], delay_ms: int | None) -> None:
        # The other after_enqueue hooks, as Dramatiq runs them; not
        # MessagePointers: the pointer went out in the round trip of the
        # send, and its blocking SET would stall the event loop a second time.
        for middleware in reversed(self.broker.middleware):
            if isinstance(middleware, pointers.MessagePointers):
                continue
            try:
                middleware.after_enqueue(self.broker, message, delay_ms)  # type: ignore[arg-type]  # None as Dramatiq passes it
            except Exception:  # as Broker.emit_after: a hook never fails the send
                log.exception("after_enqueue hook failed", middleware=type(middleware).__name__)

    async def _dispatch(
        self, sends: list[tuple[list[Any], dramatiq.Message[Any]]]
    ) -> list[Exception | None]:
        """Run the dispatch script for each send, with its job's message
        pointer, in one round trip; each send's error (``None``: sent)."""
        broker = self.broker
        assert isinstance(broker, RedisBroker)
        errors: list[Exception | None] = [None] * len(sends)
        todo = list(range(len(sends)))
        for _ in range(2):
            # The script by its digest (redis-py's pipelined Script objects
            # would ask SCRIPT EXISTS first, every time) and the pointers.
            commands: list[tuple[Any, ...]] = []
            for i in todo:
                args, message = sends[i]
                commands.append((b"EVALSHA", self._script.sha, 1, broker.namespace, *args))
                job_id = message.options.get("job_id")
                if job_id:
                    commands.append(
                        pointers.set_command(
                            broker.namespace, job_id, message.options["redis_message_id"]
                        )
                    )
            results = iter(await self._execute(commands))
            retry = []
            for i in todo:
                outcome = [next(results)]
                if sends[i][1].options.get("job_id"):
                    outcome.append(next(results))
                if isinstance(outcome[0], NoScriptError):
                    retry.append(i)
                    continue
                failed = [r for r in outcome if isinstance(r, Exception)]
                errors[i] = failed[0] if failed else None
            if not retry:
                return errors
            # a fresh or flushed Redis: load Dramatiq's script, then again
            await self.client.script_load(self._script.script)
            todo = retry
        for i in todo:
            errors[i] = RuntimeError("Redis refused Dramatiq's dispatch script twice")
        return errors

    async def _execute(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write and read their replies; an error
        reply is its :class:`~redis.exceptions.ResponseError` in the list, a
        broken connection raises. On the sender's own
        :class:`~folio_shared.redis_pipe.RedisPipe` (redis-py's pipelines
        cost several times the CPU: the API sends a batch per request burst);
        on a pooled redis-py connection for servers the pipe does not reach."""
        if self._pipe is not None:
            return await self._pipe.execute(commands)
        pool = self.client.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(b"".join(map(hiredis.pack_command, commands)))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except ResponseError as e:  # this command's error reply, fully read
                    replies.append(e)
            return replies
        except BaseException:
            await conn.disconnect()  # a reply may be half read: never reuse it
            raise
        finally:
            await pool.release(conn)

    def close(self) -> None:
        """Close the sender's own connection."""
        if self._pipe is not None:
            self._pipe.close()
