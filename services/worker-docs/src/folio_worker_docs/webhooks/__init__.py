"""Delivering webhooks: one attempt (:mod:`.send`), its record and what
it means for the delivery and its endpoint (:mod:`.store`)."""
