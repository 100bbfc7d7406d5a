"""Folio's RabbitMQ broker (``amqp://`` broker URLs).

A module of its own so that a process on Redis, the default, never imports
the RabbitMQ client: :func:`folio_shared.broker.create_broker` imports it
only for an ``amqp://`` URL.
"""

from __future__ import annotations

from dramatiq.brokers.rabbitmq import RabbitmqBroker

from folio_shared.hooks import HookDispatch


class FolioRabbitmqBroker(HookDispatch, RabbitmqBroker):
    """Dramatiq's RabbitMQ broker, its signals sent only to the middleware
    that handle them (:mod:`folio_shared.hooks`)."""
