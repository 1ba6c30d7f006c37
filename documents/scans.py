"""Scans brought to the counter: pictures put together into one PDF, in order.

A scanner gives one picture a page (JPEG, PNG or TIFF, a multi-page TIFF for a whole letter);
a letter is one document. :func:`pictures_assembled` is the intake step that makes one PDF of
the pictures of an upload, before registration: the JPEG bytes go in as they are, other
pictures losslessly, so nothing of the scan is lost; the PDF is then checked like any upload.
"""

from __future__ import annotations

from collections.abc import Sequence

from documents.intake import PDF, CheckedFile, bytes_upload, check_file


def pictures_assembled(files: Sequence[CheckedFile]) -> list[CheckedFile]:
    """``files`` with their pictures (if any) replaced by one PDF of them, a page a frame, in
    the order given, where the first picture was; PDFs are left as they are."""
    pictures = [checked for checked in files if checked.content_type != PDF]
    if not pictures:
        return list(files)
    images = []
    for checked in pictures:
        checked.upload.seek(0)
        images.append(checked.upload.read())
        checked.upload.seek(0)
    pdf, _pages = images_to_pdf(images)
    stem = pictures[0].filename.rsplit(".", 1)[0] or "scan"
    assembled = check_file(bytes_upload(pdf, f"{stem}.pdf"))
    result: list[CheckedFile] = []
    for checked in files:
        if checked.content_type == PDF:
            result.append(checked)
        elif checked is pictures[0]:
            result.append(assembled)
    return result


def images_to_pdf(images: list[bytes]) -> tuple[bytes, int]:
    """Pictures (JPEG, PNG, TIFF of one or more frames) as one PDF, a page a frame, in order;
    returns the PDF and its page count. A picture that says no resolution is taken at 300 dpi
    (a scanner's usual); transparency is flattened on white."""
    import io

    import img2pdf
    from PIL import Image, ImageSequence

    pages: list[bytes] = []
    for data in images:
        with Image.open(io.BytesIO(data)) as picture:
            frames = list(ImageSequence.Iterator(picture))
            simple = len(frames) == 1 and picture.format == "JPEG" and picture.mode in ("RGB", "L")
            if simple and picture.info.get("dpi"):
                pages.append(data)  # a JPEG goes in as it is, without re-encoding
                continue
            for frame in frames:
                image = frame.convert("RGBA") if frame.mode in ("P", "LA", "RGBA", "PA") else frame.convert("RGB")
                if image.mode == "RGBA":
                    flat = Image.new("RGB", image.size, (255, 255, 255))
                    flat.paste(image, mask=image.getchannel("A"))
                    image = flat
                dpi = frame.info.get("dpi") or picture.info.get("dpi") or (300, 300)
                out = io.BytesIO()
                image.save(out, format="PNG", dpi=tuple(round(float(d)) for d in dpi))
                pages.append(out.getvalue())
    pdf = img2pdf.convert(pages)
    assert pdf is not None
    return bytes(pdf), len(pages)
