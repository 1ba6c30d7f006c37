"""Upload preflight: the work a file may cost is bounded before it is decoded, decoding runs in
a reader process within limits, and PDFs carrying what staff should never open are refused."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import pikepdf
import pypdf
import pytest
from django.utils import translation
from PIL import Image
from pypdf.constants import UserAccessPermissions
from pytest_django import Settings

from documents import samples
from documents.headers import HeaderUnreadable, picture_header
from documents.intake import FileRejected, bytes_upload, check_file
from documents.sandbox import LimitExceeded, Limits, run_limited


@pytest.fixture
def small_limits(settings: Settings) -> Settings:
    """Limits small enough for test files made in milliseconds."""
    settings.MAX_PIXELS = 3_000_000
    settings.MAX_PAGES = 7
    settings.MAX_PDF_INFLATED = 2 * 1024 * 1024
    return settings


def refused(name: str, data: bytes) -> FileRejected:
    with translation.override("fr"), pytest.raises(FileRejected) as rejected:
        check_file(bytes_upload(data, name))
    return rejected.value


# --- Headers, read by hand before anything decodes -------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_a_pictures_size_is_read_from_its_header(fmt: str) -> None:
    header = picture_header(io.BytesIO(samples.image_bytes(fmt, size=(321, 123))), f"image/{fmt.lower()}", max_frames=9)
    assert (header.frames, header.largest) == (1, 321 * 123)


def test_a_tiffs_frames_are_counted_only_up_to_one_past_the_limit() -> None:
    tiff = samples.tiff_of_frames(20_000)
    assert picture_header(io.BytesIO(tiff), "image/tiff", max_frames=500).frames == 501
    assert picture_header(io.BytesIO(samples.image_bytes("TIFF", frames=3)), "image/tiff", max_frames=9).frames == 3


def test_an_animated_pngs_frames_come_from_its_header() -> None:
    frames = [Image.new("RGB", (20, 10), (i * 40, 0, 0)) for i in range(4)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    assert picture_header(io.BytesIO(out.getvalue()), "image/png", max_frames=9).frames == 4


def test_a_tiff_whose_directories_loop_is_damaged() -> None:
    looping = bytearray(samples.tiff_of_frames(2))
    first_next = 8 + 2 + 8 * 12  # the first directory's "next" field
    looping[first_next : first_next + 4] = struct.pack("<I", 8)  # points back at itself
    with pytest.raises(HeaderUnreadable):
        picture_header(io.BytesIO(bytes(looping)), "image/tiff", max_frames=500)


# --- Limits named in the refusal -------------------------------------------------------------


def test_a_picture_over_the_pixel_limit_is_refused_before_it_is_decoded(small_limits: Settings) -> None:
    rejected = refused("plan.png", samples.png_of_pixels(2000, 2000))
    assert rejected.code == "too_many_pixels"
    assert "plan.png" in rejected.message and "3\xa0mégapixels" in rejected.message


def test_a_picture_inside_a_pdf_counts_against_the_pixel_limit(small_limits: Settings) -> None:
    huge = samples.raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /I 4 0 R >> >> >>",
            b"<< /Type /XObject /Subtype /Image /Width 4000 /Height 4000 /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length 0 >>\nstream\n\nendstream",
        ]
    )
    assert refused("plan.pdf", huge).code == "too_many_pixels"


@pytest.mark.parametrize(
    ("name", "make"),
    [("scan.tif", lambda: samples.tiff_of_frames(8)), ("dossier.pdf", lambda: samples.pdf_of_pages(8))],
)
def test_a_file_over_the_page_limit_is_refused(small_limits: Settings, name: str, make: Callable[[], bytes]) -> None:
    rejected = refused(name, make())
    assert rejected.code == "too_many_pages"
    assert name in rejected.message and "plus de 7\xa0pages" in rejected.message


def test_a_page_tree_that_understates_its_pages_is_counted_for_real(small_limits: Settings) -> None:
    lying = samples.pdf_of_pages(8).replace(b"/Count 8 ", b"/Count 1 ")
    assert refused("dossier.pdf", lying).code == "too_many_pages"


def test_a_pdf_whose_streams_inflate_past_the_limit_is_refused(small_limits: Settings) -> None:
    rejected = refused("bombe.pdf", samples.pdf_inflating_to(3 * 1024 * 1024))
    assert rejected.code == "pdf_inflated"
    assert "bombe.pdf" in rejected.message and "2,0\xa0Mio" in rejected.message


def test_files_within_the_limits_pass_with_their_pages(small_limits: Settings) -> None:
    assert check_file(bytes_upload(samples.tiff_of_frames(7), "scan.tif")).pages == 7
    assert check_file(bytes_upload(samples.pdf_of_pages(7), "lettre.pdf")).pages == 7
    assert check_file(bytes_upload(samples.pdf_inflating_to(1024 * 1024), "texte.pdf")).pages == 1
    assert check_file(bytes_upload(samples.png_of_pixels(1500, 2000), "plan.png")).pages == 1


# --- The reader process: memory and time ------------------------------------------------------


def test_a_child_over_its_memory_limit_fails_that_file_only(settings: Settings) -> None:
    settings.MAX_PIXELS = 500_000_000
    settings.FILE_WORK_MEMORY = 300 * 1024 * 1024
    # 400 million pixels in 6 MB: within the pixel limit set here, but 400 MB to decode.
    heavy = samples.png_of_pixels(20_000, 20_000, bits=1)
    with translation.override("fr"), pytest.raises(FileRejected) as rejected:
        check_file(bytes_upload(heavy, "lourd.png"))
    assert rejected.value.code == "file_too_costly"
    assert "300,0\xa0Mio" in rejected.value.message and "60\xa0secondes" in rejected.value.message
    # The process that asked is unharmed, and the next file goes through.
    assert check_file(bytes_upload(samples.image_bytes("PNG"), "photo.png")).pages == 1


def test_a_child_over_its_time_limit_is_stopped() -> None:
    many = samples.pdf_of_pages(60_000)
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited(
            "pdf_inspect",
            many.replace(b"/Count 60000 ", b"/Count 1 "),
            max_pages=100_000,
            max_pixels=10**8,
            max_inflated=10**9,
            limits=Limits(memory=1 << 30, seconds=0.5),
        )
    assert exceeded.value.kind == "time"


# --- PDFs: what is refused, what is read ------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (samples.pdf_with_javascript, "pdf_active_content", "JavaScript"),
        (samples.pdf_with_embedded_file, "pdf_embedded_files", "d'autres fichiers"),
        (lambda: samples.pdf_bytes() + samples.zip_bytes(), "pdf_appended_data", "après sa fin"),
    ],
)
def test_pdfs_with_active_content_other_files_or_appended_data_are_refused_with_the_reason(
    make: Callable[[], bytes], code: str, words: str
) -> None:
    rejected = refused("lettre.pdf", make())
    assert rejected.code == code
    assert words in rejected.message


def test_a_script_hidden_in_an_object_stream_under_an_escaped_name_is_found() -> None:
    pdf = pikepdf.Pdf.open(io.BytesIO(samples.pdf_bytes()))
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name("/JavaScript"), JS=pikepdf.String("app.alert(1)"))
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    data = out.getvalue()
    assert b"/JavaScript" not in data  # compressed: a search of the bytes would not see it
    assert refused("lettre.pdf", data).code == "pdf_active_content"


def test_a_zip_between_a_pdf_and_a_forged_end_is_appended_data() -> None:
    pdf = samples.pdf_bytes()
    start = pdf[pdf.rindex(b"startxref") :]
    assert refused("lettre.pdf", pdf + samples.zip_bytes() + b"\n" + start).code == "pdf_appended_data"


def _encrypted(user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(samples.pdf_bytes(pages=2))))
    writer.encrypt(
        user_password=user_password, owner_password="owner-secret", permissions_flag=UserAccessPermissions(0)
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_encrypted_pdf_that_opens_without_a_password_is_accepted_as_it_is() -> None:
    checked = check_file(bytes_upload(_encrypted(""), "protege.pdf"))
    assert checked.pages == 2


def test_a_pdf_that_asks_for_a_password_is_refused_as_such_not_as_damaged() -> None:
    rejected = refused("secret.pdf", _encrypted("secret"))
    assert rejected.code == "pdf_password"
    assert "mot de passe" in rejected.message and "endommagé" not in rejected.message


def test_updated_and_linearized_pdfs_are_not_taken_for_appended_data() -> None:
    base = samples.pdf_bytes(pages=2)
    writer = pypdf.PdfWriter(io.BytesIO(base), incremental=True)
    writer.add_metadata({"/Title": "Mise à jour"})
    updated = io.BytesIO()
    writer.write(updated)
    assert updated.getvalue().startswith(base) and updated.getvalue().count(b"%%EOF") == 2
    assert check_file(bytes_upload(updated.getvalue(), "maj.pdf")).pages == 2
    linear = io.BytesIO()
    pikepdf.Pdf.open(io.BytesIO(base)).save(linear, linearize=True)
    assert check_file(bytes_upload(linear.getvalue(), "web.pdf")).pages == 2


def test_a_file_without_a_usable_name_gets_one() -> None:
    assert check_file(bytes_upload(samples.pdf_bytes(), "\u202e")).filename == "document.pdf"
    assert check_file(bytes_upload(samples.image_bytes("JPEG"), "scan")).filename == "scan.jpg"
