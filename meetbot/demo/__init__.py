"""``meetbot demo``: a whole trilingual meeting on an embedded homeserver, in one command.

The demo starts Synapse on 127.0.0.1, registers the people of a meeting, writes a real config,
runs the real bot in-process and plays a short meeting through real Matrix clients.
"""
