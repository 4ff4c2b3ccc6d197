"""The meeting's outputs (minutes files and chat summaries), all rendered from its record."""
