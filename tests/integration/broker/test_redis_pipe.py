"""folio_shared.redis_pipe against a real Redis: replies in order, error
replies in place, credentials and database, a server that goes away and
comes back, a reply that comes too late."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from folio_devstack.servers import RedisServer
from folio_shared.redis_pipe import RedisPipe

pytestmark = pytest.mark.integration


@pytest.fixture
async def pipe(test_servers: Any) -> AsyncIterator[RedisPipe]:
    client = Redis.from_url(test_servers.redis_url)
    p = RedisPipe.for_client(client)
    assert p is not None
    yield p
    p.close()
    await client.aclose()


async def test_replies_come_back_in_order_with_error_replies_in_place(pipe: RedisPipe) -> None:
    key = f"pipe-test:{uuid.uuid4()}"
    replies = await pipe.execute(
        [
            (b"SET", key, "text"),
            (b"INCR", key),  # a string that is no number: an error reply
            (b"EVALSHA", "0" * 40, 0),  # an unknown script
            (b"GET", key),
            (b"DEL", key),
        ]
    )
    assert replies[0] == b"OK"
    assert isinstance(replies[1], ResponseError)
    assert isinstance(replies[2], NoScriptError)  # redis-py's class, as its parser gives
    assert replies[3:] == [b"text", 1]


async def test_concurrent_calls_share_the_connection_and_get_their_own_replies(
    pipe: RedisPipe,
) -> None:
    keys = [f"pipe-test:{uuid.uuid4()}" for _ in range(50)]
    await asyncio.gather(*[pipe.execute([(b"SET", k, k)]) for k in keys])
    replies = await asyncio.gather(*[pipe.execute([(b"GET", k), (b"DEL", k)]) for k in keys])
    assert [r[0] for r in replies] == [k.encode() for k in keys]


async def test_credentials_and_database_of_the_url_are_used(own_redis: RedisServer) -> None:
    # Given a server that wants a password, and a URL naming database 3
    admin = Redis.from_url(own_redis.url)
    await admin.config_set("requirepass", "s3cret")
    await admin.aclose()
    host_port = f"127.0.0.1:{own_redis.port}"
    client = Redis.from_url(f"redis://:s3cret@{host_port}/3")
    pipe = RedisPipe.for_client(client)
    assert pipe is not None
    try:
        # When the pipe writes a key
        assert await pipe.execute([(b"SET", "in-db-3", "yes")]) == [b"OK"]
        # Then it is in database 3, written with the password
        assert await client.get("in-db-3") == b"yes"
        assert await Redis.from_url(f"redis://:s3cret@{host_port}/0").get("in-db-3") is None
        # and a wrong password is refused with a clear error
        wrong = RedisPipe.for_client(Redis.from_url(f"redis://:nope@{host_port}/3"))
        assert wrong is not None
        with pytest.raises(RedisConnectionError, match="refused"):
            await wrong.execute([(b"PING",)])
    finally:
        pipe.close()
        await client.aclose()


async def test_a_server_that_goes_away_fails_the_call_and_is_reached_again(
    own_redis: RedisServer,
) -> None:
    pipe = RedisPipe(host="127.0.0.1", port=own_redis.port)
    assert await pipe.execute([(b"PING",)]) == [b"PONG"]
    own_redis.stop()
    with pytest.raises(RedisConnectionError):
        await pipe.execute([(b"PING",)])
    own_redis.start()
    assert await pipe.execute([(b"PING",)]) == [b"PONG"]
    pipe.close()


async def test_a_late_reply_times_out_and_the_connection_is_not_reused(
    own_redis: RedisServer,
) -> None:
    # (a timeout of 1 s: the next call, on a new connection, must not time
    # out itself on a loaded machine)
    pipe = RedisPipe(host="127.0.0.1", port=own_redis.port, timeout_s=1.0)
    with pytest.raises(RedisTimeoutError):
        await pipe.execute([(b"BLPOP", f"pipe-test:{uuid.uuid4()}", 2)])  # a 2 s wait
    # the next call does not read the late reply as its own
    await asyncio.sleep(2)
    assert await pipe.execute([(b"ECHO", "mine")]) == [b"mine"]
    pipe.close()


def test_clients_it_does_not_speak_to_get_none() -> None:
    assert RedisPipe.for_client(Redis.from_url("rediss://127.0.0.1:6380/0")) is None
    unix = RedisPipe.for_client(Redis.from_url("unix:///tmp/folio-redis.sock?db=2"))
    assert unix is not None
    assert (unix.path, unix.db) == ("/tmp/folio-redis.sock", 2)
