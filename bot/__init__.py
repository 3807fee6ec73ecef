"""condorbot: the async shell around core: adapters, rendering, CLI."""
