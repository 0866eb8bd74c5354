"""ketenlog: composition root (settings, command line)."""
