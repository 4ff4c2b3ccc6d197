"""The running bot: the composition root, the service that wires the shells, timers and tasks."""
