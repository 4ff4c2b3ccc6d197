"""``meetbot``: the command line and its subcommands."""
