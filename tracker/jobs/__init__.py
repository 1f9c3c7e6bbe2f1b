"""Durable jobs after archiving: the ledger-backed stages and the huey workers that run them."""
