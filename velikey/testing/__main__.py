"""``python -m velikey.testing``: the reference server without the runner's CLI."""

from ._cli import serve_command

serve_command(prog_name="python -m velikey.testing")
