"""Storage adapters: Redis stores, the embedded server, every key, the ledger's pure helpers.

Modules: `redis_store` (the store ports on Redis), `embedded` (redis-server in a state dir),
`keys` (every key), `ledger_tools` (canonical JSON, hashes, verify, export). Import them
directly; this package imports nothing, so `bot.storage.ledger_tools` stays cheap for the CLI.
"""
