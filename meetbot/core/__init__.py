"""The meeting core: plain events in, plain effects out. No I/O happens in this package."""
