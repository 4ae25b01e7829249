"""Exports built synchronously, into a temporary EXPORTS_DIR, and read back."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile

from django.test import override_settings

from cvrtracker.privacy.export import data_export_build, data_export_download, data_export_request
from cvrtracker.privacy.models import DataExport

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


class ExportsDirMixin:
    """Each test gets an empty EXPORTS_DIR of its own."""

    def setUp(self):
        super().setUp()
        self.exports_dir = tempfile.mkdtemp(prefix="cvrt-exports-")
        self.addCleanup(shutil.rmtree, self.exports_dir, ignore_errors=True)
        override = override_settings(EXPORTS_DIR=self.exports_dir)
        override.enable()
        self.addCleanup(override.disable)

    def files(self) -> list[str]:
        import os

        return sorted(os.listdir(self.exports_dir))

    def build(self, user) -> DataExport:
        """Ask for an export and build it here, as the worker would."""
        with self.captureOnCommitCallbacks(execute=False):
            export = data_export_request(user=user)
        return data_export_build(export=DataExport.objects.get(pk=export.pk))

    def unzip(self, export: DataExport, user) -> zipfile.ZipFile:
        data = b"".join(data_export_download(export=export, user=user))
        return zipfile.ZipFile(io.BytesIO(data))


def json_rows(archive: zipfile.ZipFile, path: str) -> list[dict]:
    return json.loads(archive.read(f"{path}.json"))


def csv_rows(archive: zipfile.ZipFile, path: str) -> list[dict]:
    text = archive.read(f"{path}.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def all_text(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())
