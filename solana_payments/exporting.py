"""Background exports: an export too big for a request is written to a private file by a django-q2 worker.

The admin decides (``EXPORT_BACKGROUND_THRESHOLD`` rows, see ``admin/export_jobs.py``); this module records
the :class:`~solana_payments.models.ExportJob`, queues it with its id as the only argument, and writes the
file. Rows come from the same :class:`~solana_payments.resources.SafeModelResource` as an immediate export
(the same columns, formula escaping and no secret), read with ``iterator(chunk_size)`` and written one by
one, so memory stays flat whatever the number of rows. The file is named with a random part, lives in
``EXPORT_DIRECTORY`` (never served by the web server) and is deleted ``EXPORT_FILE_SECONDS`` after it was
written. django-q2 is imported inside the functions: its ``Conf`` reads settings at import time.
"""

import csv
import datetime
import json
import logging
import os
import pickle
import secrets
import tempfile
from pathlib import Path

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.module_loading import import_string

from .conf import app_settings
from .models import ExportJob, ExportStatus

logger = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 5_000
FORMATS = ("csv", "json", "xlsx")


def export_directory():
    """The private directory of export files (created when missing)."""
    directory = app_settings.EXPORT_DIRECTORY or os.path.join(
        tempfile.gettempdir(), "solana_payments_exports"
    )
    path = Path(directory)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def file_path(job):
    return export_directory() / job.file_name if job.file_name else None


def start_export(queryset, resource_class, file_format, *, fields=None, user=None):
    """Record an export job of ``queryset`` and queue it once the transaction commits. Returns the job."""
    from django_q.tasks import async_task

    file_format = file_format.lower()
    if file_format not in FORMATS:
        raise ValueError(f"Background exports are written as {', '.join(FORMATS)}, not {file_format!r}.")
    job = ExportJob.objects.create(
        model_name=queryset.model._meta.model_name,
        resource=f"{resource_class.__module__}.{resource_class.__qualname__}",
        file_format=file_format,
        fields=list(fields or []),
        query=pickle.dumps(queryset.query),
        requested_by=user if user is not None and user.is_authenticated else None,
    )

    def send():
        task_id = async_task(
            "solana_payments.exporting.run_export", job.pk, task_name=f"solana_payments-export-{job.pk}"
        )
        ExportJob.objects.filter(pk=job.pk).update(task_id=task_id or "")

    transaction.on_commit(send)
    return job


def job_queryset(job):
    """The queryset the admin asked to export, rebuilt from the job's stored query."""
    model = apps.get_model("solana_payments", job.model_name)
    queryset = model._default_manager.all()
    queryset.query = pickle.loads(bytes(job.query))  # written by start_export(), never from a request
    return queryset


def run_export(job_id):
    """The django-q2 task: claim the queued job, write its file, and record how it went."""
    now = timezone.now()
    if not ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now
    ):
        logger.info("export %s is not queued any more; nothing to do", job_id)
        return None
    job = ExportJob.objects.get(pk=job_id)
    job.file_name = f"{job.model_name}-{job.pk}-{secrets.token_hex(16)}.{job.file_format}"
    path = file_path(job)
    try:
        write_export(job, path)
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        path.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        return ExportStatus.FAILED
    finished = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.SUCCEEDED,
        done=job.done,
        total=job.done,
        file_name=job.file_name,
        size=path.stat().st_size,
        finished_at=finished,
        expires_at=finished + datetime.timedelta(seconds=app_settings.EXPORT_FILE_SECONDS),
    )
    return ExportStatus.SUCCEEDED


def export_rows(job):
    """``(headers, rows, queryset)`` of a job: the header line and an iterator of rows, one query streaming."""
    return resource_rows(import_string(job.resource)(), job_queryset(job), job.fields or None)


def resource_rows(resource, queryset, fields=None):
    """``(headers, rows, queryset)``: ``resource``'s header line and an iterator of its rows of ``queryset``."""
    queryset = resource.filter_export(queryset)
    # What ``export_resource()`` does for each row, with the columns looked up once instead of per row.
    columns = resource.get_export_fields(fields)
    headers = [force_str(column.column_name) for column in columns]
    rows = (
        [resource.export_field(column, obj) for column in columns] for obj in resource.iter_queryset(queryset)
    )
    return headers, rows, queryset


def write_export(job, path):
    """Write the job's rows to ``path``, saving progress every ``PROGRESS_EVERY_ROWS`` rows."""
    headers, rows, queryset = export_rows(job)
    job.total = queryset.order_by().count()
    job.done = 0
    ExportJob.objects.filter(pk=job.pk).update(total=job.total, file_name=job.file_name)
    writer = WRITERS[job.file_format]
    with writer(path, headers) as write:
        for row in rows:
            write(row)
            job.done += 1
            if job.done % PROGRESS_EVERY_ROWS == 0:
                ExportJob.objects.filter(pk=job.pk).update(done=job.done)


class CsvWriter:
    def __init__(self, path, headers):
        self.file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        self.writer = csv.writer(self.file)
        self.writer.writerow(headers)

    def __enter__(self):
        return self.writer.writerow

    def __exit__(self, *exc):
        self.file.close()


class JsonWriter:
    """A JSON array of objects (as django-import-export writes), one object per line."""

    def __init__(self, path, headers):
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        self.headers = headers
        self.first = True
        self.file.write("[")

    def write(self, row):
        self.file.write(
            ("\n" if self.first else ",\n") + json.dumps(dict(zip(self.headers, row, strict=True)))
        )
        self.first = False

    def __enter__(self):
        return self.write

    def __exit__(self, *exc):
        self.file.write("\n]\n")
        self.file.close()


class XlsxWriter:
    """openpyxl's write-only workbook: rows go to a temporary file, not into memory."""

    def __init__(self, path, headers):
        from openpyxl import Workbook

        self.path = path
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet()
        self.sheet.append(headers)

    def __enter__(self):
        return self.sheet.append

    def __exit__(self, *exc):
        self.workbook.save(self.path)


WRITERS = {"csv": CsvWriter, "json": JsonWriter, "xlsx": XlsxWriter}


def delete_expired_exports(now=None):
    """Delete the files of exports past their expiry; the jobs stay as a record. Returns how many."""
    now = now or timezone.now()
    expired = list(ExportJob.objects.filter(expires_at__lte=now).exclude(file_name=""))
    for job in expired:
        file_path(job).unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[job.pk for job in expired]).update(file_name="")
    return len(expired)
