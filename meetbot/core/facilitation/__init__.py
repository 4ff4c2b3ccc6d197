"""Facilitation over time: timeboxes, the speaking queue, consent rounds and scheduled meetings."""
