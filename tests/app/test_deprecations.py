"""A deprecation raised from the app's own code is an error in the test suite (``filterwarnings`` in
pyproject.toml), so the next one fails a test on the day a release announces it; others stay warnings."""

import warnings

import pytest
from django.utils import deprecation

DJANGO_DEPRECATIONS = [
    deprecation.RemovedInNextVersionWarning,
    deprecation.RemovedAfterNextVersionWarning,
]


def warn_from(module, category):
    warnings.warn_explicit(
        "an API on its way out", category, f"{module.replace('.', '/')}.py", 1, module=module
    )


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning, *DJANGO_DEPRECATIONS])
@pytest.mark.parametrize("module", ["solana_payments", "solana_payments.admin.exports"])
def test_a_deprecation_from_the_app_is_an_error(module, category):
    with pytest.raises(category):
        warn_from(module, category)


@pytest.mark.parametrize(
    "module", ["import_export.admin", "django.contrib.admin.options", "solana_paymentsx"]
)
def test_a_deprecation_from_elsewhere_stays_a_warning(module):
    with pytest.warns(DeprecationWarning):
        warn_from(module, DeprecationWarning)
