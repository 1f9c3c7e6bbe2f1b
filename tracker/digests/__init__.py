"""Change digests: subscriptions, the outbox fed from stored impact, pure builders
for email, Atom and Standard Webhooks payloads, and the dispatcher that sends them."""
