"""Market-data adapters: files and feeds in, `core.chain` types out."""
