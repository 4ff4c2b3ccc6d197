"""The core's commands, one module per subject, each command declared next to its handler."""
