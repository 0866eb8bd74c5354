"""Subcommands of the `ketenlog` command, one module per group."""
