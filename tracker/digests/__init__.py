"""Change digests (issue 6): subscriptions, the outbox fed from stored impact, pure builders
for email, Atom and Standard Webhooks payloads, and the dispatcher that sends them."""
