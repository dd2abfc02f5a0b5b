"""Big exports as background jobs: threshold, progress, permission, expiry and constant memory."""

import csv
import datetime
import io
import time
import tracemalloc

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from solana_payments import exporting
from solana_payments.checks import check_settings
from solana_payments.models import ExportJob, ExportStatus, OneTimeWallet, Payment, PaymentOption
from tests.support.exports import export_form_data
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_settings(configure, tmp_path):
    configure(EXPORT_BACKGROUND_THRESHOLD=2, EXPORT_DIRECTORY=str(tmp_path / "exports"))
    return tmp_path / "exports"


@pytest.fixture
def payments(tokens):
    payments, _ = make_payments(3, tokens)
    Payment.objects.filter(pk=payments[0].pk).update(label="=HYPERLINK(1)", email="a@example.com")
    return payments


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))


def export_in_background(client):
    response = client.post(
        reverse("admin:solana_payments_payment_export"), export_form_data("payment", "csv")
    )
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("admin:solana_payments_exportjob_changelist")
    return ExportJob.objects.latest("pk")


def download_url(job):
    return reverse("admin:solana_payments_exportjob_download", args=[job.pk])


def rows_of(content):
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_small_exports_stay_immediate(admin_client, payments, configure):
    configure(EXPORT_BACKGROUND_THRESHOLD=3)
    response = admin_client.post(
        reverse("admin:solana_payments_payment_export"), export_form_data("payment", "csv")
    )
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    assert len(rows_of(response.content)) == 3
    assert not ExportJob.objects.exists()


def test_big_export_is_a_job_with_the_same_rows_escaping_and_no_secret(
    admin_client, payments, export_settings, configure
):
    job = export_in_background(admin_client)
    assert job.status == ExportStatus.QUEUED and job.model_name == "payment"
    assert exporting.run_export(job.pk) == ExportStatus.SUCCEEDED
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.progress_percent) == (ExportStatus.SUCCEEDED, 3, 3, 100)
    assert job.expires_at > timezone.now() and job.size > 0
    path = exporting.file_path(job)
    assert path.parent == export_settings and path.exists()

    response = admin_client.get(download_url(job))
    assert response.status_code == 200
    background = b"".join(response.streaming_content)
    configure(EXPORT_BACKGROUND_THRESHOLD=100)  # the same export, immediate
    immediate = admin_client.post(
        reverse("admin:solana_payments_payment_export"), export_form_data("payment", "csv")
    ).content
    assert rows_of(background) == rows_of(immediate)
    assert "'=HYPERLINK(1)" in background.decode()
    for wallet in OneTimeWallet.objects.all():
        assert wallet.encrypted_secret not in background.decode()


def test_the_changelist_filter_is_kept(admin_client, payments):
    Payment.objects.filter(pk__in=[p.pk for p in payments[:2]]).update(status="expired")
    Payment.objects.create(
        wallet=OneTimeWallet.objects.create(address="X" * 44, encrypted_secret="x"),
        status="expired",
        expires_at=timezone.now(),
    )
    url = reverse("admin:solana_payments_payment_export") + "?status__exact=expired"
    response = admin_client.post(url, export_form_data("payment", "json"))
    assert response.status_code == 302
    job = ExportJob.objects.get()
    exporting.run_export(job.pk)
    job.refresh_from_db()
    assert job.total == 3 and job.file_format == "json"


def test_progress_shows_on_the_dashboard_and_the_jobs_list(admin_client, payments):
    job = export_in_background(admin_client)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, total=10, done=4)
    page = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert f"export #{job.pk}" in page and 'value="40"' in page
    listing = admin_client.get(reverse("admin:solana_payments_exportjob_changelist")).content.decode()
    assert f"export #{job.pk}" in listing and "4 / 10" in listing


def test_only_users_who_may_export_see_and_download(client, admin_client, payments):
    job = export_in_background(admin_client)
    exporting.run_export(job.pk)

    assert client.get(download_url(job)).status_code == 302  # to the login page: never public
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    grant(staff, "view_payment")
    assert client.get(download_url(job)).status_code == 403
    assert client.get(reverse("admin:solana_payments_exportjob_changelist")).status_code == 403
    grant(staff, "export_onetimewallet", "view_onetimewallet")  # another model's export is not enough
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(download_url(job)).status_code == 403
    grant(staff, "export_payment")
    client.force_login(User.objects.get(pk=staff.pk))
    response = client.get(download_url(job))
    assert response.status_code == 200 and len(rows_of(b"".join(response.streaming_content))) == 3


def test_a_user_without_export_permission_cannot_start_one(client, payments):
    staff = User.objects.create_user("viewer", password="pw", is_staff=True)
    grant(staff, "view_payment")
    client.force_login(staff)
    response = client.post(
        reverse("admin:solana_payments_payment_export"), export_form_data("payment", "csv")
    )
    assert response.status_code == 403 and not ExportJob.objects.exists()


def test_files_expire(admin_client, payments, configure):
    job = export_in_background(admin_client)
    exporting.run_export(job.pk)
    job.refresh_from_db()
    path = exporting.file_path(job)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert admin_client.get(download_url(job)).status_code == 410
    assert not path.exists()

    second = export_in_background(admin_client)
    exporting.run_export(second.pk)
    second.refresh_from_db()
    ExportJob.objects.filter(pk=second.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert exporting.delete_expired_exports() == 1
    assert not exporting.file_path(second).exists()
    assert ExportJob.objects.get(pk=second.pk).file_name == ""


def test_export_directory_inside_media_root_is_refused(configure, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    configure(EXPORT_DIRECTORY=str(tmp_path / "exports"))
    assert "solana_payments.E022" in [e.id for e in check_settings()]


def bulk_payments(count, tokens, start=0):
    """Payments with two options each, made quickly (no real keypairs: nothing here signs)."""
    now = timezone.now()
    wallets = OneTimeWallet.objects.bulk_create(
        [
            OneTimeWallet(address=f"W{start + i:043d}", encrypted_secret="x", state="sent_funds")
            for i in range(count)
        ],
        batch_size=2000,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(wallet=w, status="finalized", expires_at=now, label=f"order {i}")
            for i, w in enumerate(wallets)
        ],
        batch_size=2000,
    )
    PaymentOption.objects.bulk_create(
        [PaymentOption(payment=p, token=tokens[s], amount=5) for p in payments for s in ("SOL", "USDC")],
        batch_size=4000,
    )


def peak_of_export(job_pk):
    tracemalloc.start()
    try:
        exporting.run_export(job_pk)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_table_grows(admin_client, tokens):
    bulk_payments(4_000, tokens)
    small = export_in_background(admin_client)
    small_peak = peak_of_export(small.pk)
    bulk_payments(16_000, tokens, start=4_000)
    big = export_in_background(admin_client)
    big_peak = peak_of_export(big.pk)
    big.refresh_from_db()
    assert big.done == 20_000 and big.status == ExportStatus.SUCCEEDED
    # Five times the rows, (nearly) the same memory: an in-memory export would need ~1 KiB a row more.
    assert big_peak < small_peak * 1.3 + 512 * 1024, (small_peak, big_peak)
    assert big_peak < 8 * 2**20


@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_writes_the_file(admin_client, tokens, q_cluster):
    make_payments(3, tokens)
    job = export_in_background(admin_client)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED):
            break
        time.sleep(0.2)
    assert job.status == ExportStatus.SUCCEEDED, job.error
    assert job.task_id
    assert len(rows_of(b"".join(admin_client.get(download_url(job)).streaming_content))) == 3
