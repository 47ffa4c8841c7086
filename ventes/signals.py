"""Signals the order workflow sends to whoever settles what an order change leaves behind.

The workflow must not know the payments (they use the workflow to move orders):
it announces, inside the transaction that makes the change, that an order was
cancelled; ``ventes.payments`` listens (connected in ``VentesConfig.ready``),
records in that same transaction what is owed back, and asks Stripe only
through ``transaction.on_commit``, once the cancel is committed. A receiver
that fails makes the cancel fail with it, so nothing owed is ever lost.
"""

from django.dispatch import Signal

# Sent with ``order`` (locked, already saved as cancelled) and ``by`` (the user, or None: the platform).
order_cancelled = Signal()
