"""``python -m xai_gov.cli``: the same as the ``xai-gov`` command."""

from xai_gov.cli import app

app()
