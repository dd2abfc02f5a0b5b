"""Links to a transaction's page on the block explorer (``EXPLORER_URL`` on ``CLUSTER``)."""

from .conf import app_settings


def explorer_url(signature):
    """The block explorer's page of the transaction ``signature``."""
    return app_settings.EXPLORER_URL.format(signature=signature, cluster=app_settings.CLUSTER)
