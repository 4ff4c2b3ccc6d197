"""The Matrix shell: nio in, core events out; core effects in, Matrix events out."""
