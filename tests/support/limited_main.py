"""A worker module running ``test.limited`` (:mod:`support.limited`) on
Folio's broker and middleware, its limits taken from the environment."""

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging
from support.limited import declare_from_env

configure_logging(service="test-worker")
broker = setup_broker()
actor = declare_from_env(broker)
